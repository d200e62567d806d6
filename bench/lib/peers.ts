/**
 * The runtimes plugrun is compared with, installed on demand with npm into a
 * cache folder under node_modules, never into the project's dependencies.
 * A peer that cannot be installed is skipped with the reason, and its cases
 * report `met: null`.
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where peers are installed; removed with node_modules. */
export const PEERS_DIR = path.join(repoRoot, 'node_modules', '.cache', 'plugrun-bench-peers');

/** The peers and the exact versions the figures were taken with. */
const PEER_PACKAGES = {
  deno: { spec: 'deno@2.9.6', bin: 'deno' },
  lavamoat: { spec: 'lavamoat@11.1.4', bin: 'lavamoat' },
} as const;

/** A peer's name. */
export type PeerName = keyof typeof PEER_PACKAGES;

/** An installed peer, or why it is missing. */
export type Peer =
  | { readonly ok: true; readonly name: PeerName; readonly bin: string; readonly version: string }
  | { readonly ok: false; readonly name: PeerName; readonly reason: string };

const cache = new Map<PeerName, Peer>();

const binPath = (name: PeerName): string => path.join(PEERS_DIR, 'node_modules', '.bin', PEER_PACKAGES[name].bin);

const installedVersion = (name: PeerName): string | null => {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? null;
  } catch {
    return null;
  }
};

/**
 * Returns the peer, installing it first when it is missing. The install runs
 * once per process; a failure is remembered and reported by every case that
 * needs the peer.
 */
export const ensurePeer = (name: PeerName): Peer => {
  const known = cache.get(name);
  if (known !== undefined) return known;

  const wanted = PEER_PACKAGES[name].spec.split('@').pop()!;
  if (installedVersion(name) !== wanted || !fs.existsSync(binPath(name))) {
    fs.mkdirSync(PEERS_DIR, { recursive: true });
    if (!fs.existsSync(path.join(PEERS_DIR, 'package.json'))) {
      fs.writeFileSync(path.join(PEERS_DIR, 'package.json'), '{ "private": true }\n');
    }
    process.stderr.write(`bench: installing ${PEER_PACKAGES[name].spec} into ${path.relative(repoRoot, PEERS_DIR)}\n`);
    const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', PEER_PACKAGES[name].spec], {
      cwd: PEERS_DIR,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (result.status !== 0) {
      const reason = `npm install ${PEER_PACKAGES[name].spec} failed: ${(result.stderr || String(result.error ?? result.signal)).trim().split('\n').slice(-2).join(' ')}`;
      return remember({ ok: false, name, reason });
    }
  }

  // Run the binary once: a package that installed without its platform binary fails here.
  const probe = spawnSync(binPath(name), name === 'deno' ? ['--version'] : ['--help'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.status !== 0) {
    return remember({ ok: false, name, reason: `${binPath(name)} did not run: ${(probe.stderr || String(probe.error)).trim().split('\n')[0]}` });
  }
  return remember({ ok: true, name, bin: binPath(name), version: installedVersion(name) ?? wanted });
};

const remember = (peer: Peer): Peer => {
  cache.set(peer.name, peer);
  if (!peer.ok) process.stderr.write(`bench: skipping ${peer.name} cases: ${peer.reason}\n`);
  return peer;
};
