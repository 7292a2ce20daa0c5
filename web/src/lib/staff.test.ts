// The jury's desk without a browser: the queue's URL, the decisions offered for a video's state, and deciding votes by rule.
import { describe, expect, it } from 'vitest';
import { decideUntilDone, decisionsFor, pageCount, pageParam, queueHref, queueQuery } from './staff';

const url = (q: string) => new URL(`http://x/jurado${q}`);

describe('queue URL', () => {
	it('reads ?ver= and ?pagina=, with the defaults for anything else', () => {
		expect(queueQuery(url(''))).toEqual({ show: 'all', page: 1 });
		expect(queueQuery(url('?ver=reportados&pagina=3'))).toEqual({ show: 'open', page: 3 });
		expect(queueQuery(url('?ver=ocultos'))).toEqual({ show: 'hidden', page: 1 });
		expect(queueQuery(url('?ver=open&pagina=-2'))).toEqual({ show: 'all', page: 1 });
		expect(pageParam(url('?pagina=abc'))).toBe(1);
	});

	it('writes only what is not the default, and reads back what it wrote', () => {
		expect(queueHref('all', 1)).toBe('/jurado');
		expect(queueHref('open', 1)).toBe('/jurado?ver=reportados');
		expect(queueHref('hidden', 2)).toBe('/jurado?ver=ocultos&pagina=2');
		for (const show of ['all', 'open', 'hidden'] as const) {
			for (const page of [1, 4]) expect(queueQuery(url(queueHref(show, page).slice('/jurado'.length)))).toEqual({ show, page });
		}
	});

	it('counts at least one page', () => {
		expect(pageCount(0, 20)).toBe(1);
		expect(pageCount(20, 20)).toBe(1);
		expect(pageCount(21, 20)).toBe(2);
	});
});

describe('decisionsFor', () => {
	it('offers what the API accepts for each state (no 409 from a click)', () => {
		expect(decisionsFor({ visibility: 'visible', open_reports: 2 })).toEqual(['hide', 'dismiss']);
		expect(decisionsFor({ visibility: 'visible', open_reports: 0 })).toEqual(['hide']);
		expect(decisionsFor({ visibility: 'under_review', open_reports: 5 })).toEqual(['hide', 'restore', 'dismiss']);
		expect(decisionsFor({ visibility: 'hidden', open_reports: 0 })).toEqual(['restore']);
		expect(decisionsFor({ visibility: 'hidden', open_reports: 1 })).toEqual(['restore', 'dismiss']);
	});
});

describe('decideUntilDone', () => {
	it('sends again while votes of the rule remain, and adds up what was decided', async () => {
		const answers = [
			{ decided: 500, remaining: 120 },
			{ decided: 120, remaining: 0 }
		];
		let sent = 0;
		const out = await decideUntilDone(async () => answers[sent++]);
		expect(sent).toBe(2);
		expect(out).toEqual({ decided: 620, error: '' });
	});

	it('stops when a request decided nothing (decided elsewhere meanwhile) or failed', async () => {
		let sent = 0;
		expect(await decideUntilDone(async () => (sent++, { decided: 0, remaining: 3 }))).toEqual({ decided: 0, error: '' });
		expect(sent).toBe(1);
		const answers = [{ decided: 500, remaining: 10 }, { error: 'No se pudo conectar.' }];
		let i = 0;
		expect(await decideUntilDone(async () => answers[i++])).toEqual({ decided: 500, error: 'No se pudo conectar.' });
	});

	it('gives up after its most requests', async () => {
		let sent = 0;
		const out = await decideUntilDone(async () => (sent++, { decided: 1, remaining: 1 }), 3);
		expect(sent).toBe(3);
		expect(out).toEqual({ decided: 3, error: '' });
	});
});
