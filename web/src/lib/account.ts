// The logged-in person's account (GET /api/auth/me) kept beside the session, and asking for a new verification mail.
import { authApi, SESSION_GONE } from '$lib/api/client';
import { session, type Account } from '$lib/session.svelte';
import { problemOf, networkProblem, type ProblemInfo } from '$lib/problem';

/** Loads the session's account into the session store; null without a session, or when it could not be read. */
export async function loadAccount(): Promise<Account | null> {
	const token = session.token();
	if (!token) return null;
	try {
		const { data } = await authApi.GET('/api/auth/me');
		if (data) session.setAccount(token, data);
		return data ?? null;
	} catch {
		return null;
	}
}

/** What asking for a new verification mail came to. */
export type ResendOutcome =
	| { kind: 'sent'; message: string }
	| { kind: 'wait'; seconds: number }
	| { kind: 'verified' }
	| { kind: 'gone' }
	| { kind: 'failed'; problem: ProblemInfo };

/** How long to wait when a 429 comes without Retry-After (the server's default resend interval). */
const RESEND_WAIT_FALLBACK = 60;

/**
 * Asks for a new verification link (`POST /api/auth/verification`). An address found verified meanwhile, or a server
 * that asks for no verification, reloads the account: there is nothing left to do.
 */
export async function resendVerification(): Promise<ResendOutcome> {
	try {
		const { data, error, response } = await authApi.POST('/api/auth/verification');
		if (data) return { kind: 'sent', message: data.message };
		// The server's 401 and the client's own refusal of an expired token alike.
		if (response.status === SESSION_GONE) return { kind: 'gone' };
		const p = problemOf(error, response);
		if (response.status === 409) {
			await loadAccount();
			return { kind: 'verified' };
		}
		if (response.status === 429) return { kind: 'wait', seconds: p.retryAfter ?? RESEND_WAIT_FALLBACK };
		return { kind: 'failed', problem: p };
	} catch {
		return { kind: 'failed', problem: networkProblem() };
	}
}
