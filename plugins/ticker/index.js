// A plugin that runs on a timer: it counts its own runs in ctx.config, logs a
// tick every two seconds, and appends each tick to logs/ticks.log when it has
// the fs:logs/ grant.

const TICK_MS = 2000;

let ticks = 0;
let fileProblemReported = false;

const appendTick = async (ctx, line) => {
  try {
    await ctx.fs.appendFile('logs/ticks.log', `${line}\n`);
  } catch (error) {
    // Report a missing grant once, not on every tick.
    if (fileProblemReported) return;
    fileProblemReported = true;
    ctx.log.warn(`tick log not written: ${error.message}`, { code: error.code });
  }
};

export async function start(ctx) {
  const runs = ((await ctx.config.get('runs')) ?? 0) + 1;
  await ctx.config.set('runs', runs);
  await ctx.config.set('lastStartedAt', new Date().toISOString());
  ctx.log.info(`ticker started, run #${runs}`, { runs });

  ctx.timers.setInterval(async () => {
    ticks += 1;
    const line = `${new Date().toISOString()} tick ${ticks} of run ${runs}`;
    ctx.log.debug(line, { ticks });
    await appendTick(ctx, line);
  }, TICK_MS);
}

export async function stop(ctx) {
  ctx.log.info(`ticker stopping after ${ticks} ticks`, { ticks });
}

export const commands = {
  async status(_input, ctx) {
    return {
      runs: (await ctx.config.get('runs')) ?? 0,
      lastStartedAt: (await ctx.config.get('lastStartedAt')) ?? null,
      ticksThisRun: ticks,
    };
  },
};
