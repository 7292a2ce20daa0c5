// What "Mis videos" derives from the owner's list.
import type { MyVideo } from '$lib/api/client';

/** True while a video is still queued or processing (the page polls until none is). */
export const pending = (videos: readonly Pick<MyVideo, 'status'>[] | null): boolean =>
	videos?.some((v) => v.status === 'uploaded' || v.status === 'processing') ?? false;
