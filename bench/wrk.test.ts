import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrk } from './wrk.js';

const SAMPLE = `Running 8s test @ http://127.0.0.1:8080/apps/hello/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  310.20us   9.87ms   91.00%
    Req/Sec    21.10k     1.02k   22.50k    88.00%
  Latency Distribution
     50%    1.45ms
     75%    1.60ms
     90%    1.80ms
     99%  850.00us
  168000 requests in 8.00s, 20.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  21000.50
Transfer/sec:      2.50MB
`;

void test('parses wrk --latency output', () => {
  assert.deepEqual(parseWrk(SAMPLE), {
    requestsPerSec: 21000.5,
    requests: 168000,
    p50Ms: 1.45,
    p99Ms: 0.85,
    errors: 7,
  });
  assert.throws(() => parseWrk('garbage'));
});
