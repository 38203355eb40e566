/**
 * Known crawlers and uptime monitors, by User-Agent. They never wake a sleeping app and
 * never count as activity: a search engine or a monitor polling every minute would
 * otherwise keep every app awake (Compute Studio's and Heroku's lesson).
 *
 * API clients (curl, python-requests, fetch) are not bots: they are people's scripts.
 * Headless browsers are not bots either: they are people's tests and dashboards-to-PDF.
 */

/**
 * Named crawlers and monitors, then the generic words. `(?<!cu)bot\b` keeps the Android
 * phones of the Cubot brand ("CUBOT P30") out; `_bot_`-style names (Pingdom's) are named.
 */
const BOT_RE = new RegExp(
  [
    'googlebot',
    'google-inspectiontool',
    'bingbot',
    'bingpreview',
    'slurp',
    'duckduckbot',
    'baiduspider',
    'yandex(?:bot|images|metrika)',
    'applebot',
    'facebookexternalhit',
    'meta-externalagent',
    'twitterbot',
    'linkedinbot',
    'slackbot',
    'discordbot',
    'telegrambot',
    'whatsapp/',
    'ahrefsbot',
    'semrushbot',
    'mj12bot',
    'dotbot',
    'petalbot',
    'gptbot',
    'chatgpt-user',
    'oai-searchbot',
    'ccbot',
    'claudebot',
    'claude-web',
    'anthropic-ai',
    'perplexitybot',
    'bytespider',
    'amazonbot',
    'uptimerobot',
    'pingdom',
    'statuscake',
    'site24x7',
    'betteruptime',
    'datadogsynthetics',
    'newrelicpinger',
    '(?<!cu)bot\\b',
    'crawler',
    'crawling',
    'spider',
    'scraper',
  ].join('|'),
  'i',
);

/** True when the User-Agent is a known crawler or monitor. A missing User-Agent is not a bot. */
export function isBot(ua: string | undefined): boolean {
  return ua !== undefined && ua.length > 0 && BOT_RE.test(ua);
}

/** The User-Agent from Node's raw header list, without materialising `req.headers`. */
export function userAgentOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'user-agent') return raw[i + 1];
  }
  return undefined;
}
