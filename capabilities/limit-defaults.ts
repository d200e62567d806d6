/**
 * Defaults needed before the lockfile's schemas load: the worker pool spawns
 * workers with the default heap limit while the host's modules still load.
 */

/** Default heap limit of a plugin's worker, in MiB (`memoryMb`). */
export const DEFAULT_MEMORY_MB = 128;
