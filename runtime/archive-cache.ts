/**
 * A cache of built plugin archives under `<state-dir>/archives/`. Starting a
 * plugin whose files have not changed skips the build, which parses every
 * module with Babel and loads the archive half of compartment-mapper: about
 * 300 ms, measured on a 2-core AMD EPYC machine with Node 20.
 *
 * The cache can make plugrun faster but never make it trust more. A cached
 * archive is used only when every file the build read still has the same
 * SHA-256, every path it found missing is still missing, and every link
 * still resolves to the same place. And whatever archive is used, the worker
 * recomputes its integrity from the bytes it receives and compares it with
 * the lockfile, so an edited cache entry is refused like edited code.
 *
 * The probes cover every file both builds read when a build fell back to
 * the browser builds of dependencies, so a cache miss repeats the same
 * choice and gives the same bytes.
 */

import fs from 'node:fs';
import path from 'node:path';

import type { ArchiveManifest, PluginArchive, Probe } from './archive.js';
import { computeSha256 } from './integrity.js';
import type { SourceFinding } from './source-scan.js';

/** Version of the cache entry format; entries of another version are rebuilt. */
const CACHE_FORMAT = 2;

interface CacheEntry {
  readonly format: number;
  readonly root: string;
  /** SHA-256 of the manifest fields the build used. */
  readonly manifestKey: string;
  readonly mapSha512: string;
  /** Whether the build fell back to the browser builds of dependencies. */
  readonly browserBuilds: boolean;
  readonly packageJson: string;
  readonly findings: readonly SourceFinding[];
  readonly probes: ReadonlyArray<readonly [string, Probe]>;
}

const manifestKeyOf = (manifest: ArchiveManifest): string =>
  computeSha256(new TextEncoder().encode(JSON.stringify([manifest.name, manifest.version, manifest.main])));

/** Checks one probe against the file system now; false when a new build could differ. */
const probeHolds = async (filePath: string, probe: Probe): Promise<boolean> => {
  try {
    switch (probe.kind) {
      case 'missing':
        await fs.promises.realpath(filePath);
        return false;
      case 'resolved':
        return (await fs.promises.realpath(filePath)) === probe.real;
      case 'file':
        return computeSha256(await fs.promises.readFile(filePath)) === probe.sha256;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return probe.kind === 'missing' && (code === 'ENOENT' || code === 'ENOTDIR');
  }
};

const entryPaths = (cacheDir: string, name: string) => ({
  json: path.join(cacheDir, `${name}.json`),
  zip: path.join(cacheDir, `${name}.zip`),
});

/** Returns the cached archive of a plugin when every probe of its build still holds. */
const readCached = async (cacheDir: string, pluginDir: string, manifest: ArchiveManifest): Promise<PluginArchive | undefined> => {
  const paths = entryPaths(cacheDir, manifest.name);
  let entry: CacheEntry;
  let bytes: Uint8Array;
  try {
    entry = JSON.parse(await fs.promises.readFile(paths.json, 'utf8')) as CacheEntry;
    bytes = await fs.promises.readFile(paths.zip);
  } catch {
    return undefined;
  }
  if (entry.format !== CACHE_FORMAT || entry.manifestKey !== manifestKeyOf(manifest)) return undefined;
  if ((await fs.promises.realpath(pluginDir)) !== entry.root) return undefined;

  const holds = await Promise.all(entry.probes.map(([filePath, probe]) => probeHolds(filePath, probe)));
  if (!holds.every(Boolean)) return undefined;

  return {
    bytes,
    mapSha512: entry.mapSha512,
    browserBuilds: entry.browserBuilds,
    packageJsonBytes: Buffer.from(entry.packageJson, 'base64'),
    findings: entry.findings,
    probes: new Map(entry.probes),
    cached: true,
  };
};

/** Writes a cache entry; the zip first, so a reader never pairs new JSON with an old zip. */
const writeCached = async (cacheDir: string, pluginDir: string, manifest: ArchiveManifest, archive: PluginArchive) => {
  const paths = entryPaths(cacheDir, manifest.name);
  const entry: CacheEntry = {
    format: CACHE_FORMAT,
    root: await fs.promises.realpath(pluginDir),
    manifestKey: manifestKeyOf(manifest),
    mapSha512: archive.mapSha512,
    browserBuilds: archive.browserBuilds,
    packageJson: Buffer.from(archive.packageJsonBytes).toString('base64'),
    findings: archive.findings,
    probes: [...archive.probes],
  };
  await fs.promises.mkdir(cacheDir, { recursive: true });
  const suffix = `.${process.pid}.${Date.now()}.tmp`;
  await fs.promises.rm(paths.json, { force: true });
  await fs.promises.writeFile(paths.zip + suffix, archive.bytes);
  await fs.promises.rename(paths.zip + suffix, paths.zip);
  await fs.promises.writeFile(paths.json + suffix, JSON.stringify(entry));
  await fs.promises.rename(paths.json + suffix, paths.json);
};

/**
 * Returns the plugin's archive: from the cache when its files are unchanged
 * (unless `fresh`, as for `plugrun lock`), otherwise built anew and cached.
 * A failure to write the cache is ignored: the cache only saves time.
 */
export const loadPluginArchive = async (
  pluginDir: string,
  manifest: ArchiveManifest,
  cacheDir: string,
  options: { readonly fresh?: boolean } = {},
): Promise<PluginArchive> => {
  if (!options.fresh) {
    const cached = await readCached(cacheDir, pluginDir, manifest);
    if (cached !== undefined) return cached;
  }

  // The builder pulls in Babel, so it is loaded only when a build is needed.
  const { buildPluginArchive } = await import('./archive.js');
  const archive = await buildPluginArchive(pluginDir, manifest);
  await writeCached(cacheDir, pluginDir, manifest, archive).catch(() => undefined);
  return archive;
};
