// Logging in through the API and starting the client session.
import { api } from '$lib/api/client';
import { session } from '$lib/session.svelte';
import { problemOf, networkProblem, type ProblemInfo } from '$lib/problem';

/** Logs in; on success the session is stored and null is returned, otherwise the problem. */
export async function logIn(email: string, password: string): Promise<ProblemInfo | null> {
	try {
		const { data, error, response } = await api.POST('/api/auth/login', {
			body: { email: email.trim(), password }
		});
		if (data) {
			session.start(data.access_token, data.expires_in, email.trim().toLowerCase());
			return null;
		}
		return problemOf(error, response);
	} catch {
		return networkProblem();
	}
}
