/**
 * The portal fields of an app (title, description, tags): one validation rule
 * for the API edge and the platforms that store them.
 */
import { GantryError } from '../errors/index.js';

/** C0 controls and DEL: never part of a title. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Longest display title, in characters. */
export const TITLE_MAX = 80;
/** Longest description, in characters. */
export const DESCRIPTION_MAX = 500;
/** Most tags an app may have. */
export const TAGS_MAX = 10;
/** One tag after lower-casing and trimming: a word the portal's filters can show as a chip. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9-]{0,29}$/;

/** The change `setAppMeta` accepts (each field left out stays as it is). */
export interface AppMetaChange {
  title?: string | null;
  description?: string;
  tags?: string[];
}

/** Length in characters (code points), as a user counts them, not UTF-16 units. */
const chars = (s: string): number => [...s].length;

function bad(message: string): GantryError {
  return new GantryError('GANTRY_BAD_REQUEST', message);
}

/**
 * Trims and checks a change of an app's portal fields: a title of at most
 * TITLE_MAX characters ('' clears it to null), a description of at most
 * DESCRIPTION_MAX, at most TAGS_MAX distinct tags matching TAG_PATTERN after
 * lower-casing (duplicates are dropped, first occurrence kept). Returns only
 * the fields given; throws GANTRY_BAD_REQUEST naming the offending field.
 * Idempotent: a normalized change normalizes to itself.
 */
export function normalizeAppMeta(change: AppMetaChange): AppMetaChange {
  const out: AppMetaChange = {};
  if (change.title !== undefined) {
    const title = change.title === null ? '' : change.title.trim();
    if (chars(title) > TITLE_MAX) throw bad(`the title is longer than ${TITLE_MAX} characters`);
    if (CONTROL.test(title)) throw bad('the title may not contain control characters such as line breaks');
    out.title = title === '' ? null : title;
  }
  if (change.description !== undefined) {
    const description = change.description.trim();
    if (chars(description) > DESCRIPTION_MAX) {
      throw bad(`the description is longer than ${DESCRIPTION_MAX} characters`);
    }
    // Line breaks and tabs are text; other control characters are not (Postgres refuses NUL).
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(description))
      throw bad('the description may not contain control characters other than line breaks and tabs');
    out.description = description;
  }
  if (change.tags !== undefined) {
    const tags: string[] = [];
    for (const raw of change.tags) {
      const tag = raw.trim().toLowerCase();
      if (!TAG_PATTERN.test(tag)) {
        throw bad(
          `tag "${raw.slice(0, 40)}" is not valid: use 1 to 30 lower-case letters, digits or dashes, starting with a letter or digit`,
        );
      }
      if (!tags.includes(tag)) tags.push(tag);
    }
    if (tags.length > TAGS_MAX) throw bad(`an app has at most ${TAGS_MAX} tags (got ${tags.length})`);
    out.tags = tags;
  }
  return out;
}
