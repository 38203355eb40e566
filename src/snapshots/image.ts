/** Image types the portal accepts, recognised by their first bytes (never by the client's Content-Type). */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp';

/** Largest picture an owner may upload. */
export const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

/** The image type of `buf` by its signature, or undefined when it is none of PNG, JPEG, WebP. */
export function sniffImage(buf: Uint8Array): ImageType | undefined {
  const at = (i: number, bytes: number[]) => bytes.every((b, j) => buf[i + j] === b);
  if (buf.length >= 8 && at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (buf.length >= 3 && at(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  // RIFF....WEBP
  if (buf.length >= 12 && at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50]))
    return 'image/webp';
  return undefined;
}
