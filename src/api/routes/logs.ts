/**
 * Logs as plain text, one `TIMESTAMP APP.TYPE.N: text` line each. With
 * `follow=1` the reply stays open and lines are written as they come, until
 * the client goes away.
 */
import { Type } from '@sinclair/typebox';
import type { LogLine } from '../../runtime/types.js';
import { AppParams, TextBody, errorResponses } from '../schemas.js';
import type { ApiPlugin } from '../types.js';

/** The wire format of a log line (also what `gantry logs` prints). */
export function formatLogLine(line: LogLine): string {
  return `${line.time.toISOString()} ${line.process}: ${line.text.replace(/\r?\n$/, '')}\n`;
}

/** Bytes a follower may fall behind before it is disconnected. */
const MAX_BUFFERED = 4 * 1024 * 1024;

const lineKey = (l: LogLine): string => `${l.time.getTime()} ${l.process} ${l.text}`;

const LogsQuery = Type.Object({
  lines: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
  follow: Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], {
    default: '0',
  }),
});

export const logsRoutes: ApiPlugin = async (app, { platform }) => {
  app.get(
    '/apps/:app/logs',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Recent log lines; with follow=1 a never-ending text stream',
        tags: ['logs'],
        params: AppParams,
        querystring: LogsQuery,
        produces: ['text/plain'],
        response: { 200: TextBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: name } = request.params;
      const { lines } = request.query;
      const follow = request.query.follow === '1' || request.query.follow === 'true';
      void reply.type('text/plain; charset=utf-8');
      if (!follow) {
        const tail = await platform.tailLogs(name, lines);
        return tail.map(formatLogLine).join('');
      }

      // Subscribe before reading the tail so nothing falls between the two;
      // lines that arrive meanwhile are queued and de-duplicated against the tail.
      let queue: LogLine[] | null = [];
      let deliver: (line: LogLine) => void = () => {};
      const unsubscribe = await platform.followLogs(name, (line) => {
        if (queue) queue.push(line);
        else deliver(line);
      });
      let tail: LogLine[];
      try {
        tail = await platform.tailLogs(name, lines);
      } catch (e) {
        unsubscribe();
        throw e;
      }

      // From here the reply is ours: Fastify would hold the headers back until
      // the first line, and a quiet app may not log for a long time.
      reply.hijack();
      const res = reply.raw;
      res.once('close', unsubscribe);
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      res.flushHeaders();
      deliver = (line) => {
        if (res.destroyed || res.writableEnded) return;
        // A client that stops reading must not make us buffer without bound.
        if (res.writableLength > MAX_BUFFERED) res.destroy();
        else res.write(formatLogLine(line));
      };
      const seen = new Set(tail.map(lineKey));
      for (const line of tail) deliver(line);
      const pending = queue;
      queue = null;
      for (const line of pending) if (!seen.has(lineKey(line))) deliver(line);
      return reply;
    },
  );
};
