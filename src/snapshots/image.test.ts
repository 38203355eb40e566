import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sniffImage } from './image.js';

test('images are recognised by their bytes, anything else is not', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
  const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.from([1, 2, 3, 4]), Buffer.from('WEBPVP8 ')]);
  assert.equal(sniffImage(png), 'image/png');
  assert.equal(sniffImage(jpeg), 'image/jpeg');
  assert.equal(sniffImage(webp), 'image/webp');
  assert.equal(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
  assert.equal(sniffImage(Buffer.from('GIF89a')), undefined);
  assert.equal(sniffImage(png.subarray(0, 5)), undefined);
  assert.equal(sniffImage(Buffer.alloc(0)), undefined);
});
