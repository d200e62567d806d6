/**
 * Entry of a database worker: the thread that runs one plugin's sql.js
 * database. sql.js is synchronous WebAssembly, so a statement that runs
 * away blocks this thread only. The host stops it by terminating the
 * thread, and the next call starts a new worker that reopens the database
 * from its snapshot and journal.
 *
 * No plugin code runs here; the worker receives checked arguments only.
 */

import { parentPort, workerData } from 'node:worker_threads';

import { Engine, FatalEngineError, toWireError } from './engine.js';
import type { DbRequest, DbWorkerData, DbWorkerMessage } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('the database worker must run in a worker thread');

const post = (message: DbWorkerMessage) => port.postMessage(message);

const serve = (engine: Engine, request: DbRequest): unknown => {
  const args = request.args as never;
  switch (request.op) {
    case 'createTable':
      return engine.createTable(args);
    case 'insert':
      return engine.insert(args);
    case 'select':
      return engine.select(args);
    case 'update':
      return engine.update(args);
    case 'delete':
      return engine.delete(args);
    case 'analyzeQuery':
      return engine.analyzeQuery(args);
    case 'runQuery':
      return engine.runQuery(args);
    case 'compact':
      return engine.compact();
    case 'stats':
      return engine.stats();
  }
};

const start = async (): Promise<void> => {
  const { folder, maxRows } = workerData as DbWorkerData;
  let engine: Engine;
  try {
    engine = await Engine.open(folder, maxRows);
  } catch (error) {
    // The host terminates the worker when it reads this.
    post({ type: 'open-failed', error: toWireError(error) });
    return;
  }

  port.on('message', (request: DbRequest) => {
    try {
      const value = serve(engine, request);
      post({ type: 'reply', id: request.id, ok: true, value, compactionDue: engine.compactionDue });
    } catch (error) {
      // After a fatal error memory may hold less than the journal, so the host replaces the worker.
      post({ type: 'reply', id: request.id, ok: false, error: toWireError(error), restart: error instanceof FatalEngineError });
    }
  });
  post({ type: 'ready', compactionDue: engine.compactionDue });
};

void start();
