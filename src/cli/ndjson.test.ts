import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonDecoder, ndjsonMessages, type StreamMessage } from './ndjson.js';

const STREAM =
  '{"output":"héllo wörld ✓\\n"}\n{"output":"second"}\n{"future":"kind"}\n\n{"exit":{"code":3,"signal":null}}';

/** Every way of cutting the stream in two, at every byte (inside lines and inside UTF-8 characters). */
test('messages come out whole however the bytes are split', () => {
  const bytes = new TextEncoder().encode(STREAM);
  const expected: StreamMessage[] = [
    { output: 'héllo wörld ✓\n' },
    { output: 'second' },
    { exit: { code: 3, signal: null } },
  ];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new NdjsonDecoder();
    const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut)), ...d.end()];
    assert.deepEqual(got, expected, `cut at byte ${cut}`);
  }
  // One byte at a time.
  const d = new NdjsonDecoder();
  const got: StreamMessage[] = [];
  for (const b of bytes) got.push(...d.push(Uint8Array.of(b)));
  got.push(...d.end());
  assert.deepEqual(got, expected);
});

test('a line that is not JSON is an error naming it; a cut-off last line is dropped; unknown kinds are skipped', async () => {
  const d = new NdjsonDecoder();
  assert.throws(
    () => d.push(new TextEncoder().encode('<html>502 Bad Gateway</html>\n')),
    /unexpected reply from the server: <html>502/,
  );
  assert.deepEqual(d.end(), []);
  const cut = new NdjsonDecoder();
  assert.deepEqual(cut.push(new TextEncoder().encode('{"output":"a"}\n{"exi')), [{ output: 'a' }]);
  assert.deepEqual(cut.end(), [], 'a line cut off by the connection is dropped');
  async function* body() {
    yield new TextEncoder().encode('{"output":"a"}\n{"exit"');
    yield new TextEncoder().encode(':{"code":0,"signal":null}}\n');
  }
  const all: StreamMessage[] = [];
  for await (const m of ndjsonMessages(body())) all.push(m);
  assert.deepEqual(all, [{ output: 'a' }, { exit: { code: 0, signal: null } }]);
});
