// `npm start`: validate the configuration, start the server, stop gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`faceserver: bad configuration: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, log);
  } catch (err) {
    log.fatal({ err }, `faceserver failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
