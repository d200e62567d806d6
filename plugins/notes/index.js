// A notes plugin: notes live in the plugin's own table `notes` (db:notes),
// and `export` writes them as Markdown and as HTML to exports/ (fs:exports/).
// The HTML comes from `marked`, an npm library installed in this plugin's own
// node_modules, which runs in the compartment with no more authority than the
// plugin. Other plugins reach its commands through ctx.plugins.call under
// msg:notes.

import { marked } from 'marked';

import { renderMarkdown } from './lib/markdown.js';

const TABLE = 'notes';
const MAX_TEXT = 2000;

const NOTES_SCHEMA = {
  columns: {
    text: { type: 'string', required: true, maxLength: MAX_TEXT },
    tags: { type: 'json', default: [] },
    created: { type: 'date', required: true },
  },
  indexes: ['created'],
};

const checkText = (input) => {
  const text = typeof input?.text === 'string' ? input.text.trim() : '';
  if (text === '') throw new Error('add needs {"text": "..."} with a non-empty text');
  if (text.length > MAX_TEXT) throw new Error(`a note is at most ${MAX_TEXT} characters`);
  return text;
};

const checkTags = (input) => {
  if (input?.tags === undefined) return [];
  if (!Array.isArray(input.tags) || !input.tags.every((tag) => typeof tag === 'string')) {
    throw new Error('tags must be an array of strings');
  }
  return input.tags;
};

export async function start(ctx) {
  await ctx.db.createTable(TABLE, NOTES_SCHEMA);
  const [{ count }] = await ctx.db.query('SELECT count(*) AS count FROM notes');
  ctx.log.info(`notes ready with ${count} notes`, { count });
}

export const commands = {
  /** Adds a note: {"text": "...", "tags": ["..."]} -> {"id": 1} */
  async add(input, ctx) {
    const row = { text: checkText(input), tags: checkTags(input), created: new Date().toISOString() };
    const { id } = await ctx.db.insert(TABLE, row);
    ctx.log.info(`added note ${id}`, { id });
    return { id };
  },

  /** Lists the newest notes: {"limit": 20} -> [{id, text, tags, created}] */
  async list(input, ctx) {
    const limit = Number.isInteger(input?.limit) ? Math.min(Math.max(input.limit, 1), 100) : 20;
    return ctx.db.select(TABLE, {}, { orderBy: 'created', orderDirection: 'desc', limit });
  },

  /** Finds notes whose text contains a word: {"q": "milk"} -> [{id, text}] */
  async search(input, ctx) {
    const q = typeof input?.q === 'string' ? input.q : '';
    if (q === '') throw new Error('search needs {"q": "..."}');
    // The value is bound as a parameter; LIKE wildcards in it are escaped.
    const pattern = `%${q.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    return ctx.db.query("SELECT id, text FROM notes WHERE text LIKE ? ESCAPE '\\' ORDER BY id", [pattern]);
  },

  /** Writes every note to exports/notes.md and exports/notes.html and returns their paths and sizes. */
  async export(_input, ctx) {
    const notes = await ctx.db.select(TABLE, {}, { orderBy: 'created', orderDirection: 'asc', limit: 1000 });
    const markdown = renderMarkdown(notes);
    const html = `<!doctype html>\n<meta charset="utf-8">\n<title>Notes</title>\n${marked.parse(markdown)}`;
    await ctx.fs.writeFile('exports/notes.md', markdown);
    await ctx.fs.writeFile('exports/notes.html', html);
    ctx.log.info(`exported ${notes.length} notes`, { count: notes.length });
    const size = (text) => new TextEncoder().encode(text).length;
    return {
      notes: notes.length,
      files: [
        { path: 'exports/notes.md', bytes: size(markdown) },
        { path: 'exports/notes.html', bytes: size(html) },
      ],
    };
  },
};
