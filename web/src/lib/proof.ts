// Proof of work past a network's limits (ALTCHA): a refusal's challenge, the Altcha header, and send → solve → send again.
import type { components } from '$lib/api/schema';

/** What a 429 past a limit carries (and what the ALTCHA widget's `challengejson` takes). */
export type ProofChallenge = components['schemas']['ProofChallenge'];

/** A solved challenge: the JSON the `Altcha` header carries in base64 (docs/api.md, "Votes people can trust"). */
export interface ProofSolution {
	algorithm: string;
	challenge: string;
	number: number;
	salt: string;
	signature: string;
}

/** Turns a challenge into the `Altcha` header's value; rejects when it cannot (the widget failed, the page went away). */
export type Solve = (challenge: ProofChallenge) => Promise<string>;

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The challenge in a problem body (`challenge`, 429 only), or null when there is none we can solve. */
export function challengeOf(problem: unknown): ProofChallenge | null {
	if (!isRecord(problem) || !isRecord(problem.challenge)) return null;
	const { algorithm, challenge, maxnumber, salt, signature } = problem.challenge;
	if (algorithm !== 'SHA-256' || !isText(challenge) || !isCount(maxnumber) || !isText(salt) || !isText(signature)) {
		return null;
	}
	return { algorithm, challenge, maxnumber, salt, signature };
}

/** The `Altcha` header for a solution: base64 of exactly the five fields the API reads. */
export function proofHeader(s: ProofSolution): string {
	const json = JSON.stringify({
		algorithm: s.algorithm,
		challenge: s.challenge,
		number: s.number,
		salt: s.salt,
		signature: s.signature
	});
	// The fields are ASCII (hex, digits and the salt's `?expires=…&`), so btoa takes the string as it is.
	return btoa(json);
}

/** The solution in a header value (or in the ALTCHA widget's payload, which has the same form plus extras); null if unreadable. */
export function readProof(header: string): ProofSolution | null {
	try {
		const v: unknown = JSON.parse(atob(header.trim()));
		if (!isRecord(v)) return null;
		const { algorithm, challenge, number, salt, signature } = v;
		if (!isText(algorithm) || !isText(challenge) || !isCount(number) || !isText(salt) || !isText(signature)) return null;
		return { algorithm, challenge, number, salt, signature };
	} catch {
		return null;
	}
}

/** The header to send for `payload` (what a solver returned) if it solves `challenge`, else null. */
export function answerTo(challenge: ProofChallenge, payload: string): string | null {
	const s = readProof(payload);
	if (!s || s.challenge !== challenge.challenge || s.salt !== challenge.salt || s.signature !== challenge.signature) {
		return null;
	}
	return s.number <= challenge.maxnumber ? proofHeader(s) : null;
}

/**
 * Sends a request and, while its answer asks for a proof of work (`challengeIn` finds one), solves the challenge
 * and sends it again with the solution, at most `tries` times (a solution can be refused with a fresh challenge when
 * the network got busier meanwhile). Returns the last answer: one that still carries a challenge was not solved
 * (the solver failed, or the tries ran out), and its Retry-After is then the person's way on.
 */
export async function withProof<R>(
	send: (altcha?: string) => Promise<R>,
	challengeIn: (answer: R) => ProofChallenge | null,
	solve: Solve,
	tries = 3
): Promise<R> {
	let answer = await send();
	for (let i = 0; i < tries; i++) {
		const challenge = challengeIn(answer);
		if (!challenge) return answer;
		let header: string | null;
		try {
			header = answerTo(challenge, await solve(challenge));
		} catch {
			return answer;
		}
		if (!header) return answer;
		answer = await send(header);
	}
	return answer;
}

/** For openapi-fetch answers: the challenge of a 429 problem, if any. */
export function challengeIn429(answer: { error?: unknown; response: Response }): ProofChallenge | null {
	return answer.response.status === 429 ? challengeOf(answer.error) : null;
}
