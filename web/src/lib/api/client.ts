// Typed API clients (openapi-fetch over the generated `paths`) and the response types the pages use.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { session } from '$lib/session.svelte';

export type { paths };
type Schemas = components['schemas'];
export type PublicVideo = Schemas['PublicVideo'];
export type RankedPlayer = Schemas['RankedPlayer'];
export type MyVideo = Schemas['MyVideo'];
export type VideoDetail = Schemas['VideoDetail'];
export type Problem = Schemas['Problem'];
export type SignupRequest = Schemas['SignupRequest'];
export type ReportReason = Schemas['ReportReason'];
export type VideoReview = Schemas['VideoReview'];
export type QueuedVideo = Schemas['QueuedVideo'];
export type ReviewedVideo = Schemas['ReviewedVideo'];
export type StaffReport = Schemas['StaffReport'];
export type AuditEntry = Schemas['AuditEntry'];
export type PlayerHeldVotes = Schemas['PlayerHeldVotes'];
export type HeldVote = Schemas['HeldVote'];
export type HoldRule = Schemas['HoldRule'];
export type Round = Schemas['Round'];
export type RoundStanding = Schemas['RoundStanding'];
export type RoundFinalist = Schemas['RoundFinalist'];
export type NewRoundRequest = Schemas['NewRoundRequest'];

/** Status of a request the client refused to send because the session had already expired. */
export const SESSION_GONE = 401;

/** Public endpoints: no credentials. */
export const api = createClient<paths>({ baseUrl: '' });

const bearer: Middleware = {
	onRequest({ request }) {
		if (!session.tick()) {
			// Expired on the client: do not send a token we know is dead.
			return new Response(null, { status: SESSION_GONE });
		}
		const token = session.token();
		if (!token) return new Response(null, { status: SESSION_GONE });
		request.headers.set('Authorization', `Bearer ${token}`);
		return request;
	},
	onResponse({ response }) {
		if (response.status === 401) session.drop('refused');
		return response;
	}
};

/** Endpoints that need the bearer token; a 401 ends the session (and leaves protected pages). */
export const authApi = createClient<paths>({ baseUrl: '' });
authApi.use(bearer);
