// Fetches a JSON feed on a timer and keeps the last good response in
// cache/feed.json, so the `latest` command has something to return while the
// feed's host is down. Settings, read from ctx.config at start:
//
//   url               the feed, default https://api.example.com/feed.json
//   intervalMinutes   minutes between fetches, default 15, at least 1
//
// The manifest requests net:api.example.com and fs:cache/. Until a user grants
// them, every fetch is denied before any connection is opened, and the plugin
// logs the command that grants it.

const DEFAULT_URL = 'https://api.example.com/feed.json';
const DEFAULT_INTERVAL_MINUTES = 15;
const CACHE_FILE = 'cache/feed.json';

// The first fetch runs inside start(), so it must end well before the
// 10-second start timeout. Later fetches run on the timer.
const FETCH_TIMEOUT_MS = 5000;

// The last failure logged, so a failure that repeats on every tick is logged once.
let lastFailure = null;
let settings = null;

/** Returns the URL without its query string, where API keys often sit, for log lines. */
const describeUrl = (url) => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

const isHttpUrl = (value) => {
  try {
    return typeof value === 'string' && /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** Reads and checks the settings. Returns null, and logs why, when the URL is unusable. */
const readSettings = async (ctx) => {
  const url = (await ctx.config.get('url')) ?? DEFAULT_URL;
  if (!isHttpUrl(url)) {
    ctx.log.error('feed disabled: config key "url" must be an http:// or https:// URL; set it with ctx.config or in .plugrun/config/feed.json');
    return null;
  }

  const minutes = (await ctx.config.get('intervalMinutes')) ?? DEFAULT_INTERVAL_MINUTES;
  const intervalMinutes = Number.isInteger(minutes) && minutes >= 1 ? minutes : DEFAULT_INTERVAL_MINUTES;
  if (intervalMinutes !== minutes) {
    ctx.log.warn(`config key "intervalMinutes" must be a whole number of at least 1; using ${DEFAULT_INTERVAL_MINUTES}`);
  }
  return { url, intervalMinutes };
};

/** Returns what a user can do about a failed fetch, by error code. */
const hintFor = (code) => {
  switch (code) {
    case 'PLUGRUN_DENIED':
      return 'the grant is missing or the host resolves to a local address; the message names the command that grants it';
    case 'PLUGRUN_LIMIT':
      return 'the feed was too slow or too large for the net limits in plugin.lock.json';
    default:
      return 'the host could not be reached or did not respond with JSON; the last good response stays in cache/feed.json';
  }
};

/** Fetches the feed once and caches it. Returns what happened instead of throwing. */
const refresh = async (ctx) => {
  if (settings === null) return { ok: false, code: 'PLUGRUN_INVALID', message: 'the feed URL is not set' };
  const where = describeUrl(settings.url);

  let data;
  try {
    data = await ctx.net.json(settings.url, { timeoutMs: FETCH_TIMEOUT_MS });
  } catch (error) {
    const failure = `${error.code}: ${error.message}`;
    if (failure !== lastFailure) {
      ctx.log.error(`feed not refreshed from ${where}: ${error.message}`, { code: error.code, hint: hintFor(error.code) });
    }
    lastFailure = failure;
    return { ok: false, code: error.code, message: error.message };
  }

  lastFailure = null;
  const fetchedAt = new Date().toISOString();
  try {
    await ctx.fs.writeFile(CACHE_FILE, JSON.stringify({ url: where, fetchedAt, data }));
  } catch (error) {
    ctx.log.warn(`feed fetched from ${where} but not cached: ${error.message}`, { code: error.code });
    return { ok: true, cached: false, fetchedAt };
  }

  ctx.log.info(`feed refreshed from ${where}`, { fetchedAt });
  return { ok: true, cached: true, fetchedAt };
};

/** Returns the cached response, or null when there is none yet. */
const readCache = async (ctx) => {
  try {
    return JSON.parse(await ctx.fs.readFile(CACHE_FILE));
  } catch (error) {
    if (error.code !== 'PLUGRUN_FAILED') throw error;
    return null;
  }
};

export async function start(ctx) {
  settings = await readSettings(ctx);
  if (settings === null) return;

  await refresh(ctx);
  ctx.timers.setInterval(() => refresh(ctx), settings.intervalMinutes * 60_000);
}

export const commands = {
  /** Returns the last good response with when and where it was fetched, or null. */
  async latest(_input, ctx) {
    return readCache(ctx);
  },

  /** Fetches the feed now and returns what happened. */
  async refresh(_input, ctx) {
    settings ??= await readSettings(ctx);
    return refresh(ctx);
  },
};
