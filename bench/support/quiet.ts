/**
 * Imported first by bench/run.ts and the sync worker: the Powertools logger and metrics read
 * these at module load, so they must be set before any handler module is evaluated.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_DEV = 'false';
