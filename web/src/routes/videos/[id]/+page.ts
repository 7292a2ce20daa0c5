// A video's page data: the published video, and where its vote button starts for the person looking.
import { api, authApi, SESSION_GONE, type PublicVideo, type VideoDetail } from '$lib/api/client';
import { session } from '$lib/session.svelte';
import { problemOf, problemText, networkProblem } from '$lib/problem';
import type { VoteStart } from '$lib/components/VoteButton.svelte';
import type { PageLoad } from './$types';

type Fetch = typeof fetch;

export const load: PageLoad = async ({ params, fetch, depends }) => {
	// 'app:video' after a vote (the count); 'app:session' when another tab logs in or out.
	depends('app:video', 'app:session');
	const [video, vote] = await Promise.all([publicVideo(params.id, fetch), voteStart(params.id, fetch)]);
	// Out of the public's sight: its owner still sees it (and why), and staff are shown the way to its review.
	const hidden = video.notFound ? await ownHidden(params.id, fetch) : null;
	return { id: params.id, ...video, vote, hidden, staff: video.notFound && session.staff };
};

/** The caller's own video while it is hidden from the public (`review` set); null for anyone else's or a visible one. */
async function ownHidden(id: string, fetch: Fetch): Promise<VideoDetail | null> {
	if (!session.active) return null;
	try {
		const { data } = await authApi.GET('/api/videos/{video_id}', { fetch, params: { path: { video_id: id } } });
		return data?.review ? data : null;
	} catch {
		return null;
	}
}

async function publicVideo(id: string, fetch: Fetch) {
	const none = { video: null as PublicVideo | null, notFound: false, error: '' };
	try {
		const { data, error, response } = await api.GET('/api/public/videos/{video_id}', {
			fetch,
			params: { path: { video_id: id } }
		});
		if (data) return { ...none, video: data };
		if (response.status === 404) return { ...none, notFound: true };
		return { ...none, error: problemText(problemOf(error, response)) };
	} catch {
		return { ...none, error: problemText(networkProblem()) };
	}
}

/** Whether this person already voted (or owns the video), asked before offering the button; null when logged out. */
async function voteStart(id: string, fetch: Fetch): Promise<VoteStart | null> {
	if (!session.active) return null;
	try {
		const { data, response } = await authApi.GET('/api/public/videos/{video_id}/vote', {
			fetch,
			params: { path: { video_id: id } }
		});
		if (data) return data.own_video ? 'own' : data.voted ? 'already' : 'ready';
		// The session is gone (the button then leads to the login page); any other failure lets the server decide.
		return response.status === SESSION_GONE ? null : 'ready';
	} catch {
		return 'ready';
	}
}
