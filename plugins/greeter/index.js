// A plugin with commands for `plugrun call`: greet someone, count the people
// it greeted (kept in ctx.config), and record each greeting as a note in the
// notes plugin through ctx.plugins.call, under the msg:notes grant. At start
// it asks the ticker plugin for its status, under msg:ticker.

import { greetingFor, pickMotto } from './lib/words.js';

export async function start(ctx) {
  // ticker is a dependency, so it is running by now; msg:ticker allows the call.
  const ticker = await ctx.plugins.call('ticker', 'status', null);
  ctx.log.info(`greeter ready; ticker has run ${ticker.runs} times; motto: ${pickMotto()}`);
}

export const commands = {
  async greet(input, ctx) {
    const name = typeof input?.name === 'string' && input.name !== '' ? input.name : 'stranger';
    const greeted = ((await ctx.config.get('greeted')) ?? 0) + 1;
    await ctx.config.set('greeted', greeted);
    ctx.log.info(`greeted ${name}`, { greeted });
    const note = await ctx.plugins.call('notes', 'add', { text: `Greeted ${name}`, tags: ['greeting'] });
    return {
      note: note.id,
      greeting: greetingFor(name, new Date().getHours()),
      id: crypto.randomUUID(),
      greeted,
    };
  },

  async stats(_input, ctx) {
    return { greeted: (await ctx.config.get('greeted')) ?? 0, motto: pickMotto() };
  },
};
