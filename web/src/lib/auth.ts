// Logging in through the API (with a proof of work when the login is past a limit) and starting the client session.
import { api } from '$lib/api/client';
import { loadAccount } from '$lib/account';
import { session } from '$lib/session.svelte';
import { problemOf, networkProblem, type ProblemInfo } from '$lib/problem';
import { challengeIn429, withProof, type Solve } from '$lib/proof';

/**
 * Logs in; on success the session is stored (its account loads behind it) and null is returned, otherwise the
 * problem. Past a limit the server asks for a proof of work: `solve` does it, and the login is sent again.
 */
export async function logIn(email: string, password: string, solve: Solve): Promise<ProblemInfo | null> {
	try {
		const body = { email: email.trim(), password };
		const { data, error, response } = await withProof(
			(altcha) => api.POST('/api/auth/login', { body, params: { header: altcha ? { Altcha: altcha } : {} } }),
			challengeIn429,
			solve
		);
		if (data) {
			session.start(data.access_token, data.expires_in, email.trim().toLowerCase());
			void loadAccount();
			return null;
		}
		return problemOf(error, response);
	} catch {
		return networkProblem();
	}
}
