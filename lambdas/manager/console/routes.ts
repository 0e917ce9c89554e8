import type { Hono } from 'hono';
import { CONSOLE_PAGE } from './page.ts';
import { CONSOLE_SCRIPT } from './script.ts';

/**
 * The console: one static page and one script, served by the manager itself.
 * They hold no data; the script calls /v1 with the token the operator gives
 * (the address `npm start` prints carries it in the #fragment, which never
 * reaches a server).
 */
export function installConsole(app: Hono): void {
  const headers = {
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
    'x-content-type-options': 'nosniff',
  };
  app.get('/', (c) => c.redirect('/console'));
  app.get('/console', (c) => c.html(CONSOLE_PAGE, 200, headers));
  app.get('/console/app.js', (c) => c.body(CONSOLE_SCRIPT, 200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }));
}
