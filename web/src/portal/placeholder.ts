/** The picture of an app without a thumbnail: its initials on a colour of its own. */

/** "Sales forecast" → "SF", "revenue" → "R", "q3-report" → "QR"; "?" when there are no letters. */
export function initials(title: string): string {
  const words = title.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0]!);
  return letters.join('').toUpperCase() || '?';
}

/** A hue (0–359) that stays the same for a name across visits and machines (FNV-1a). */
export function hueOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 360;
}
