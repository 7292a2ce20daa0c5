// Problem answers and Retry-After into the sentences people read.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatWait, networkProblem, problemOf, problemText, retryAfterSeconds } from './problem';
import { t } from './i18n';

const answer = (status: number, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers) });

afterEach(() => {
	vi.useRealTimers();
});

describe('retryAfterSeconds', () => {
	it('reads delta-seconds, rounding up', () => {
		expect(retryAfterSeconds('45')).toBe(45);
		expect(retryAfterSeconds(' 2.1 ')).toBe(3);
		expect(retryAfterSeconds('0')).toBe(0);
	});

	it('reads an HTTP date as the seconds left, never negative', () => {
		vi.useFakeTimers();
		vi.setSystemTime(new Date('2025-03-01T12:00:00Z'));
		expect(retryAfterSeconds('Sat, 01 Mar 2025 12:01:30 GMT')).toBe(90);
		expect(retryAfterSeconds('Sat, 01 Mar 2025 11:00:00 GMT')).toBe(0);
	});

	it('ignores a missing or unreadable header', () => {
		expect(retryAfterSeconds(null)).toBeUndefined();
		expect(retryAfterSeconds('')).toBeUndefined();
		expect(retryAfterSeconds('pronto')).toBeUndefined();
	});
});

describe('formatWait', () => {
	it('speaks seconds under two minutes, at least one', () => {
		expect(formatWait(0)).toBe(t.wait.seconds(1));
		expect(formatWait(45)).toBe('45 s');
		expect(formatWait(119)).toBe('119 s');
	});

	it('speaks whole minutes, rounded up, beyond', () => {
		expect(formatWait(120)).toBe('2 minutos');
		expect(formatWait(121)).toBe('3 minutos');
		expect(formatWait(900)).toBe('15 minutos');
	});
});

describe('problemOf', () => {
	it('takes code, detail and field from a problem body', () => {
		const p = problemOf(
			{ type: 'about:blank', title: 'Bad Request', status: 400, code: 'email_taken', detail: 'Ese correo ya tiene cuenta.', field: 'email' },
			answer(400)
		);
		expect(p).toEqual({ status: 400, code: 'email_taken', detail: 'Ese correo ya tiene cuenta.', field: 'email', retryAfter: undefined });
	});

	it('keeps the wait the server asked for', () => {
		const p = problemOf({ code: 'too_many_attempts', detail: 'Demasiados intentos.' }, answer(429, { 'Retry-After': '30' }));
		expect(p.retryAfter).toBe(30);
		expect(p.field).toBeUndefined();
	});

	it('falls back to a generic sentence when the body is not a problem', () => {
		for (const body of [null, undefined, 'Bad Gateway', { message: 'nope' }, { detail: 42 }]) {
			expect(problemOf(body, answer(502))).toEqual({ status: 502, code: '', detail: t.app.unknownError, retryAfter: undefined });
		}
	});

	it('marks a 429 that asks for a proof of work, and only that', () => {
		const challenge = { algorithm: 'SHA-256', challenge: 'a'.repeat(64), maxnumber: 50_000, salt: 's-50000?expires=1&', signature: 'b'.repeat(64) };
		const body = { code: 'too_many_votes', detail: 'Demasiados votos desde esta conexión.', challenge };
		expect(problemOf(body, answer(429, { 'Retry-After': '60' })).proof).toBe(true);
		expect(problemOf({ ...body, challenge: undefined }, answer(429)).proof).toBeUndefined();
		expect(problemOf(body, answer(400)).proof).toBeUndefined();
	});

	it('ignores code and field of the wrong type', () => {
		expect(problemOf({ detail: 'Algo.', code: 7, field: ['x'] }, answer(400))).toMatchObject({ code: '', field: undefined });
	});
});

describe('problemText', () => {
	it('adds the wait to throttling and overload answers only', () => {
		const base = { code: 'x', detail: 'Demasiados intentos.', retryAfter: 45 };
		expect(problemText({ ...base, status: 429 })).toBe(`Demasiados intentos. ${t.auth.retryIn('45 s')}`);
		expect(problemText({ ...base, status: 503, retryAfter: 180 })).toBe(`Demasiados intentos. ${t.auth.retryIn('3 minutos')}`);
		expect(problemText({ ...base, status: 400 })).toBe('Demasiados intentos.');
		expect(problemText({ ...base, status: 429, retryAfter: undefined })).toBe('Demasiados intentos.');
	});

	it('says the browser could not prove its work when a challenge is left unsolved', () => {
		const p = { status: 429, code: 'too_many_votes', detail: 'Demasiados votos.', retryAfter: 60, proof: true };
		expect(problemText(p)).toBe(`${t.proof.failed} Demasiados votos. ${t.auth.retryIn('60 s')}`);
	});

	it('says the network failed when nothing answered', () => {
		expect(problemText(networkProblem())).toBe(t.app.networkError);
		expect(networkProblem()).toMatchObject({ status: 0, code: 'network' });
	});
});
