// Proof of work: reading a refusal's challenge, the Altcha header, and the send → solve → send-again loop.
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { answerTo, challengeIn429, challengeOf, proofHeader, readProof, withProof, type ProofChallenge } from './proof';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A challenge as the API makes one: sha256(salt + secret), its difficulty and expiry in the salt. */
function challenge(secret = 1234, maxnumber = 50_000): ProofChallenge {
	const salt = `0a1b2c3d4e5f60718293a4b5-${maxnumber}?expires=1893456000&`;
	return { algorithm: 'SHA-256', challenge: sha256(salt + secret), maxnumber, salt, signature: 'f'.repeat(64) };
}

/** What the ALTCHA widget hands over once verified: base64 JSON with its own extras. */
const widgetPayload = (c: ProofChallenge, number: number) =>
	btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature, test: undefined, took: 37 }));

/** Solves like the widget's worker does: the first n with sha256(salt + n) = challenge. */
function bruteForce(c: ProofChallenge): number | null {
	for (let n = 0; n <= c.maxnumber; n++) if (sha256(c.salt + n) === c.challenge) return n;
	return null;
}

describe('challengeOf', () => {
	const problem = (extra: Record<string, unknown>) => ({
		type: 'about:blank',
		title: 'Too Many Requests',
		status: 429,
		detail: 'Demasiados votos desde esta conexión.',
		code: 'too_many_votes',
		...extra
	});

	it('reads the challenge of a 429 problem', () => {
		const c = challenge();
		expect(challengeOf(problem({ challenge: c }))).toEqual(c);
	});

	it('keeps only the fields the widget takes', () => {
		const c = challenge();
		expect(challengeOf(problem({ challenge: { ...c, extra: 'x' } }))).toEqual(c);
	});

	it('finds none in a problem without one, or in something else', () => {
		expect(challengeOf(problem({}))).toBeNull();
		expect(challengeOf(null)).toBeNull();
		expect(challengeOf('Too Many Requests')).toBeNull();
		expect(challengeOf(problem({ challenge: 'abc' }))).toBeNull();
	});

	it('refuses a challenge it could not solve or send back', () => {
		const c = challenge();
		expect(challengeOf(problem({ challenge: { ...c, algorithm: 'SHA-512' } }))).toBeNull();
		expect(challengeOf(problem({ challenge: { ...c, maxnumber: -1 } }))).toBeNull();
		expect(challengeOf(problem({ challenge: { ...c, maxnumber: 1.5 } }))).toBeNull();
		expect(challengeOf(problem({ challenge: { ...c, salt: '' } }))).toBeNull();
		expect(challengeOf(problem({ challenge: { ...c, signature: undefined } }))).toBeNull();
	});

	it('reads openapi-fetch answers only when they are 429s', () => {
		const c = challenge();
		const error = problem({ challenge: c });
		expect(challengeIn429({ error, response: new Response(null, { status: 429 }) })).toEqual(c);
		expect(challengeIn429({ error, response: new Response(null, { status: 400 }) })).toBeNull();
		expect(challengeIn429({ error: undefined, response: new Response(null, { status: 200 }) })).toBeNull();
	});
});

describe('the Altcha header', () => {
	it('is base64 of the JSON of exactly the five fields the API reads', () => {
		const c = challenge();
		const header = proofHeader({ ...c, number: 1234 });
		expect(header).toMatch(/^[A-Za-z0-9+/]+=*$/);
		expect(JSON.parse(atob(header))).toEqual({
			algorithm: 'SHA-256',
			challenge: c.challenge,
			number: 1234,
			salt: c.salt,
			signature: c.signature
		});
		expect(readProof(header)).toEqual({ algorithm: 'SHA-256', challenge: c.challenge, number: 1234, salt: c.salt, signature: c.signature });
	});

	it('carries a number that solves the challenge', () => {
		const c = challenge(4321, 10_000);
		const n = bruteForce(c);
		expect(n).toBe(4321);
		const s = readProof(proofHeader({ ...c, number: n! }))!;
		expect(sha256(s.salt + s.number)).toBe(c.challenge);
	});

	it('is made from the widget’s payload without its extras', () => {
		const c = challenge();
		const header = answerTo(c, widgetPayload(c, 1234));
		expect(header).not.toBeNull();
		expect(Object.keys(JSON.parse(atob(header!)))).toEqual(['algorithm', 'challenge', 'number', 'salt', 'signature']);
	});

	it('is not made from a payload for another challenge, past the maximum, or unreadable', () => {
		const c = challenge();
		expect(answerTo(c, widgetPayload(challenge(99), 99))).toBeNull();
		expect(answerTo(c, widgetPayload({ ...c, signature: 'e'.repeat(64) }, 1234))).toBeNull();
		expect(answerTo(c, widgetPayload(c, c.maxnumber + 1))).toBeNull();
		expect(answerTo(c, 'no es base64 ☹')).toBeNull();
		expect(answerTo(c, btoa('[1, 2]'))).toBeNull();
		expect(readProof(btoa(JSON.stringify({ ...c, number: '7' })))).toBeNull();
	});
});

describe('withProof', () => {
	type Answer = { status: number; challenge?: ProofChallenge; altcha?: string };
	const ok = (altcha?: string): Answer => ({ status: 200, altcha });
	const busy = (c: ProofChallenge): Answer => ({ status: 429, challenge: c });
	const challengeIn = (a: Answer) => a.challenge ?? null;

	it('sends once and never solves when the answer asks for nothing', async () => {
		const send = vi.fn(async (altcha?: string) => ok(altcha));
		const solve = vi.fn(async () => 'x');
		expect(await withProof(send, challengeIn, solve)).toEqual({ status: 200 });
		expect(send).toHaveBeenCalledTimes(1);
		expect(solve).not.toHaveBeenCalled();
	});

	it('solves the challenge and sends again with the solution in the header', async () => {
		const c = challenge();
		const send = vi.fn(async (altcha?: string) => (altcha ? ok(altcha) : busy(c)));
		const solve = vi.fn(async (asked: ProofChallenge) => widgetPayload(asked, bruteForce(asked)!));
		const answer = await withProof(send, challengeIn, solve);
		expect(answer.status).toBe(200);
		expect(solve).toHaveBeenCalledWith(c);
		expect(send).toHaveBeenCalledTimes(2);
		expect(send.mock.calls[0]).toEqual([]);
		expect(answer.altcha).toBe(proofHeader({ ...c, number: 1234 }));
	});

	it('solves a fresh challenge when the first solution is refused with one', async () => {
		const first = challenge(1, 10);
		const second = challenge(2, 10);
		const send = vi.fn(async (altcha?: string) => {
			if (!altcha) return busy(first);
			return readProof(altcha)!.challenge === first.challenge ? busy(second) : ok(altcha);
		});
		const solve = vi.fn(async (asked: ProofChallenge) => widgetPayload(asked, bruteForce(asked)!));
		expect((await withProof(send, challengeIn, solve)).status).toBe(200);
		expect(solve.mock.calls.map(([asked]) => asked)).toEqual([first, second]);
	});

	it('gives back the refusal when the solver fails, so its wait can be shown', async () => {
		const c = challenge();
		const send = vi.fn(async () => busy(c));
		const answer = await withProof(send, challengeIn, async () => Promise.reject(new Error('widget error')));
		expect(answer).toEqual(busy(c));
		expect(send).toHaveBeenCalledTimes(1);
	});

	it('does not send a solution to another challenge', async () => {
		const c = challenge();
		const send = vi.fn(async () => busy(c));
		await withProof(send, challengeIn, async () => widgetPayload(challenge(7), 7));
		expect(send).toHaveBeenCalledTimes(1);
	});

	it('stops after its tries', async () => {
		const c = challenge(3, 10);
		const send = vi.fn(async () => busy(c));
		const solve = vi.fn(async (asked: ProofChallenge) => widgetPayload(asked, 3));
		expect(await withProof(send, challengeIn, solve, 2)).toEqual(busy(c));
		expect(solve).toHaveBeenCalledTimes(2);
		expect(send).toHaveBeenCalledTimes(3);
	});
});
