// The jury's requests: reading a page of the desk (its total from X-Total-Count) and sending a decision with its reason.
import { authApi, SESSION_GONE, type HoldRule } from '$lib/api/client';
import { problemOf, problemText, networkProblem } from '$lib/problem';
import type { Decision } from '$lib/staff';

/** What a staff read came to: the data, or the text of its problem; `gone` when the session was refused. */
export interface Read<T> {
	data: T | null;
	/** X-Total-Count, for the paged lists (the data's length without it). */
	total: number;
	error: string;
	gone: boolean;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Runs a staff read and turns its answer into what a page shows. */
export async function staffRead<T>(call: () => Promise<Answer<T>>): Promise<Read<T>> {
	try {
		const { data, error, response } = await call();
		if (data !== undefined) {
			const header = response.headers.get('X-Total-Count');
			const total = header !== null ? Number(header) : Array.isArray(data) ? data.length : 1;
			return { data, total, error: '', gone: false };
		}
		if (response.status === SESSION_GONE) return { data: null, total: 0, error: '', gone: true };
		return { data: null, total: 0, error: problemText(problemOf(error, response)), gone: false };
	} catch {
		return { data: null, total: 0, error: problemText(networkProblem()), gone: false };
	}
}

/** What a decision came to: the server's message, or the text of its refusal. */
export type Decided = { ok: true; message: string } | { ok: false; error: string; code: string; gone: boolean };

async function decided(call: () => Promise<Answer<{ message: string }>>): Promise<Decided> {
	try {
		const { data, error, response } = await call();
		if (data) return { ok: true, message: data.message };
		const p = problemOf(error, response);
		return { ok: false, error: problemText(p), code: p.code, gone: response.status === SESSION_GONE };
	} catch {
		return { ok: false, error: problemText(networkProblem()), code: 'network', gone: false };
	}
}

const VIDEO_PATHS = {
	hide: '/api/staff/videos/{video_id}/hide',
	restore: '/api/staff/videos/{video_id}/restore',
	dismiss: '/api/staff/videos/{video_id}/dismiss'
} as const;

/** Hides, restores or dismisses the reports of a video, with the reason the audit log keeps. */
export function decideVideo(videoId: string, decision: Decision, reason: string): Promise<Decided> {
	return decided(() =>
		authApi.POST(VIDEO_PATHS[decision], { params: { path: { video_id: videoId } }, body: { reason } })
	);
}

const VOTE_PATHS = {
	release: '/api/staff/videos/{video_id}/votes/{voter_id}/release',
	void: '/api/staff/videos/{video_id}/votes/{voter_id}/void'
} as const;

export type VoteDecision = keyof typeof VOTE_PATHS;

/** Releases or voids one held vote, with the reason the audit log keeps. */
export function decideVote(videoId: string, voterId: string, decision: VoteDecision, reason: string): Promise<Decided> {
	return decided(() =>
		authApi.POST(VOTE_PATHS[decision], {
			params: { path: { video_id: videoId, voter_id: voterId } },
			body: { reason }
		})
	);
}

/** Releases or voids every held vote of a player that `rule` held, with the reason each vote's audit entry keeps. */
export async function decideRule(
	playerId: string,
	rule: HoldRule,
	decision: VoteDecision,
	reason: string
): Promise<{ decided: number; remaining: number } | { error: string }> {
	const path =
		decision === 'release'
			? ('/api/staff/players/{player_id}/held-votes/release' as const)
			: ('/api/staff/players/{player_id}/held-votes/void' as const);
	try {
		const { data, error, response } = await authApi.POST(path, {
			params: { path: { player_id: playerId } },
			body: { reason, rule }
		});
		if (data) return { decided: data.decided, remaining: data.remaining };
		return { error: problemText(problemOf(error, response)) };
	} catch {
		return { error: problemText(networkProblem()) };
	}
}
