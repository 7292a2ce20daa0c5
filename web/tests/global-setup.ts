// Global setup: makes the fixture videos with the ffmpeg CLI (kept between runs) and checks the stack answers.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { FIXTURES, fixture } from './helpers';

function ffmpeg(out: string, size: string, seconds: number) {
	if (existsSync(out)) return;
	execFileSync(
		'ffmpeg',
		[
			'-hide_banner', '-loglevel', 'error', '-y',
			'-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`,
			'-t', String(seconds),
			'-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast', '-crf', '32',
			'-movflags', '+faststart',
			`${out}.tmp.mp4`
		],
		{ stdio: 'inherit' }
	);
	execFileSync('mv', [`${out}.tmp.mp4`, out]);
}

export default async function globalSetup() {
	try {
		execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
	} catch {
		throw new Error('the ffmpeg CLI makes the fixture videos: install it (apt-get install -y ffmpeg)');
	}
	mkdirSync(FIXTURES, { recursive: true });
	ffmpeg(fixture('ok-1080p-22s.mp4'), '1920x1080', 22);
	ffmpeg(fixture('short-1080p-10s.mp4'), '1920x1080', 10);
	ffmpeg(fixture('lowres-720p-25s.mp4'), '1280x720', 25);
	// Five parts of an upload session: the clip, then a top-level `free` box that players and the probe skip.
	if (!existsSync(fixture('ok-1080p-22s-21mb.mp4'))) {
		const clip = readFileSync(fixture('ok-1080p-22s.mp4'));
		const padding = 21 * 1024 * 1024 - clip.length;
		const header = Buffer.alloc(8);
		header.writeUInt32BE(padding, 0);
		header.write('free', 4, 'ascii');
		writeFileSync(fixture('ok-1080p-22s-21mb.mp4'), Buffer.concat([clip, header, Buffer.alloc(padding - 8)]));
	}
	if (!existsSync(fixture('roto.mp4'))) {
		const bytes = Buffer.alloc(256 * 1024);
		randomFillSync(bytes);
		writeFileSync(fixture('roto.mp4'), bytes);
	}

	// The API restarts now and then during development: wait for it rather than fail at once.
	const base = process.env.WEB_BASE_URL ?? 'http://127.0.0.1:8080';
	const deadline = Date.now() + 90_000;
	for (;;) {
		try {
			const r = await fetch(new URL('/health', base));
			if (r.ok) break;
		} catch {
			// not up yet
		}
		if (Date.now() > deadline) throw new Error(`the stack at ${base} does not answer /health`);
		await new Promise((r) => setTimeout(r, 2000));
	}
}
