// "Mis videos" data: the owner's videos with their status, links and failure reasons.
import { authApi, type MyVideo } from '$lib/api/client';
import { requireSession } from '$lib/guard';
import { problemOf, problemText, networkProblem } from '$lib/problem';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, fetch, depends, parent }) => {
	// Refreshed while a video is processing, on focus, and after publishing or deleting (+page.svelte).
	depends('app:my-videos');
	await parent(); // the (cuenta) guard first: no request without a session
	let videos: MyVideo[] | null = null;
	let error = '';
	let gone = false;
	try {
		const { data, error: err, response } = await authApi.GET('/api/videos', { fetch });
		if (data) videos = data;
		else if (response.status === 401) gone = true;
		else error = problemText(problemOf(err, response));
	} catch {
		error = problemText(networkProblem());
	}
	// The token expired or the server refused it: the session is gone, and the guard says why.
	if (gone) requireSession(url);
	return { videos, error };
};
