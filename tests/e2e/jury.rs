//! The jury's desk (issue #19): reports that hide a video on every instance within the rankings'
//! bound, staff accounts granted only by an operator's command, staff decisions that bring back
//! exactly the votes a video had, and the append-only audit log the hidden set rebuilds from.

use std::time::Duration;

use end_to_end::{Client, Player, RawBody, RunningApi, types};
use tokio::time::Instant;

use crate::public::{published_video, vote};
use crate::{LocalBackends, local_backends, without_holding_rules};

/// `MAX_STALENESS` of the rankings and the showcase list: a change is on every page served this
/// long after its answer.
const BOUND: Duration = Duration::from_secs(1);

fn report(reason: &str, details: Option<&str>) -> types::ReportRequest {
    types::ReportRequest {
        reason: reason.to_owned(),
        details: details.map(str::to_owned),
    }
}

pub(crate) fn because(reason: &str) -> types::DecisionRequest {
    types::DecisionRequest {
        reason: reason.to_owned(),
    }
}

/// Runs `cargo xtask staff <words> --database-url <the test database>`; its exit status and
/// what it printed.
async fn xtask_staff(backends: &LocalBackends, words: &[&str]) -> anyhow::Result<(bool, String)> {
    let output = end_to_end::xtask()?
        .arg("staff")
        .args(words)
        .args(["--database-url", &backends.database.url])
        .output()
        .await?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), printed))
}

/// A person who signed up, was made staff by the operator's command, and logged in since.
pub(crate) async fn staff_member(
    backends: &LocalBackends,
    client: &Client,
    email: &str,
) -> anyhow::Result<Player> {
    let mut player = client.player(email, "Jurado", "Bogotá").await?;
    let (ok, printed) = xtask_staff(backends, &["add", email, "--reason", "jurado 2026"]).await?;
    anyhow::ensure!(ok, "xtask staff add failed: {printed}");
    player.token = client.login_as(email, end_to_end::PASSWORD).await?;
    Ok(player)
}

/// Ids of the videos the public list shows (first page of 100), and its total.
async fn listed(client: &Client) -> anyhow::Result<(Vec<String>, i64)> {
    let reply = client.list_public_videos(None, Some(100), None).await?;
    let total = reply
        .header("x-total-count")
        .and_then(|total| total.parse().ok())
        .unwrap_or(-1);
    Ok((
        reply
            .ok()?
            .into_iter()
            .map(|video| video.video_id)
            .collect(),
        total,
    ))
}

/// (player id, votes) of each ranked player, and the total.
async fn ranked(client: &Client) -> anyhow::Result<(Vec<(String, i64)>, i64)> {
    let reply = client.rankings(None, Some(100), None, None, None).await?;
    let total = reply
        .header("x-total-count")
        .and_then(|total| total.parse().ok())
        .unwrap_or(-1);
    Ok((
        reply
            .ok()?
            .into_iter()
            .map(|row| (row.player_id, row.votes))
            .collect(),
        total,
    ))
}

/// The hidden videos as the `videos` table has them, and as the audit log alone tells them.
async fn hidden_sets(backends: &LocalBackends) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let pool = &backends.database.pool;
    let in_table: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM videos WHERE hidden_at IS NOT NULL ORDER BY id")
            .fetch_all(pool)
            .await?;
    let mut connection = pool.acquire().await?;
    let from_log = platform::audit::hidden_videos_from_log(&mut connection)
        .await?
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    Ok((in_table, from_log))
}

#[tokio::test]
async fn five_verified_reports_hide_a_video_on_two_instances_and_a_restore_brings_back_its_votes()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    without_holding_rules(&mut env);
    let first = RunningApi::start(&env).await?;
    let second = RunningApi::start(&env).await?;
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let owner = backends
        .verified_player(&one, "owner@example.com", "Ana", "Cali")
        .await?;
    let rival = backends
        .verified_player(&one, "rival@example.com", "Rita", "Cali")
        .await?;
    let video = published_video(&backends, &one, &owner).await?;
    let rival_video = published_video(&backends, &one, &rival).await?;
    let mut fans = Vec::new();
    for index in 0..6 {
        fans.push(
            backends
                .verified_player(&one, &format!("fan{index}@example.com"), "Fan", "Cali")
                .await?,
        );
    }
    for fan in &fans[..3] {
        vote(&one, fan, &video).await?.ok()?;
    }
    vote(&one, &fans[3], &rival_video).await?.ok()?;

    // One account reporting twice (from two instances) counts once.
    let reported = one
        .report_video(
            Some(&fans[0].token),
            &video,
            &report("not_basketball", None),
        )
        .await?
        .ok()?;
    assert_eq!(reported.video_id, video);
    let again = two
        .report_video(Some(&fans[0].token), &video, &report("copyright", None))
        .await?;
    assert_eq!((again.status, again.code()), (409, "already_reported"));
    // The owner cannot report their own video; `other` needs words; a reason is from the list.
    let own = one
        .report_video(Some(&owner.token), &video, &report("inappropriate", None))
        .await?;
    assert_eq!((own.status, own.code()), (400, "own_video"));
    let wordless = one
        .report_video(Some(&fans[1].token), &video, &report("other", None))
        .await?;
    assert_eq!(
        (wordless.status, wordless.body["field"].as_str()),
        (400, Some("details"))
    );
    let unknown = one
        .raw(
            reqwest::Method::POST,
            &format!("/api/public/videos/{video}/report"),
            Some(&fans[1].token),
            Some(RawBody::Json(serde_json::json!({"reason": "boring"}))),
        )
        .await?;
    assert_eq!(
        (unknown.status, unknown.body["field"].as_str()),
        (400, Some("reason"))
    );

    for fan in &fans[1..4] {
        one.report_video(
            Some(&fan.token),
            &video,
            &report("other", Some("  No es el jugador que dice ser  ")),
        )
        .await?
        .ok()?;
    }
    // Four distinct reports: still public. Warm both instances' caches with it.
    for client in [&one, &two] {
        assert!(listed(client).await?.0.contains(&video));
        assert!(ranked(client).await?.0.contains(&(owner.id.clone(), 3)));
    }
    two.report_video(
        Some(&fans[4].token),
        &video,
        &report("not_basketball", None),
    )
    .await?
    .ok()?;
    let answered = Instant::now();

    // Gone from both instances within the bound: list, page, rankings; votes refused.
    tokio::time::sleep_until(answered + BOUND).await;
    for client in [&one, &two] {
        let (videos, total) = listed(client).await?;
        assert_eq!((videos, total), (vec![rival_video.clone()], 1));
        let (players, total) = ranked(client).await?;
        assert_eq!((players, total), (vec![(rival.id.clone(), 1)], 1));
        let page = client.get_public_video(&video).await?;
        assert_eq!((page.status, page.code()), (404, "video_not_found"));
        let refused = vote(client, &fans[5], &video).await?;
        assert_eq!((refused.status, refused.code()), (404, "video_not_found"));
        let late = client
            .report_video(Some(&fans[5].token), &video, &report("copyright", None))
            .await?;
        assert_eq!(late.status, 404);
    }

    // Its owner sees why, and its votes are kept.
    let mine = one.get_video(Some(&owner.token), &video).await?.ok()?;
    let review = mine
        .review
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no review: {mine:?}"))?;
    assert_eq!(review.state, types::ReviewState::UnderReview);
    assert_eq!(
        review.reasons,
        vec![
            types::ReportReason::Other,
            types::ReportReason::NotBasketball
        ]
    );
    assert_eq!((review.note, mine.votes), (None, 3));
    let listed_mine = one.list_my_videos(Some(&owner.token)).await?.ok()?;
    assert!(listed_mine[0].review.is_some());

    // Staff see it first in the queue, with its reports by reason, and restore it.
    let staff = staff_member(&backends, &one, "jurado@federacion.co").await?;
    let queue = one
        .staff_queue(Some(&staff.token), None, None, None)
        .await?;
    assert_eq!(queue.header("x-total-count"), Some("1"));
    let queued = &queue.ok()?[0];
    assert_eq!(
        (
            queued.video_id.as_str(),
            queued.visibility,
            queued.open_reports,
            queued.counting_reports,
            queued.open_reports_by_reason.other,
            queued.open_reports_by_reason.not_basketball,
            queued.votes,
        ),
        (
            video.as_str(),
            types::VideoVisibility::UnderReview,
            5,
            5,
            3,
            2,
            3
        )
    );
    let seen = two.staff_video(Some(&staff.token), &video).await?.ok()?;
    assert_eq!(seen.reports.len(), 5);
    assert_eq!(
        seen.reports[1].details.as_deref(),
        Some("No es el jugador que dice ser")
    );
    assert_eq!(
        seen.history[0].action,
        types::AuditAction::VideoHiddenByReports
    );
    let wordless = one
        .staff_restore_video(Some(&staff.token), &video, &because("   "))
        .await?;
    assert_eq!(
        (wordless.status, wordless.body["field"].as_str()),
        (400, Some("reason"))
    );
    let restored = two
        .staff_restore_video(
            Some(&staff.token),
            &video,
            &because("Es un video de baloncesto."),
        )
        .await?
        .ok()?;
    assert_eq!(
        (restored.visibility, restored.reports_resolved),
        (types::VideoVisibility::Visible, 5)
    );
    let answered = Instant::now();
    let again = one
        .staff_restore_video(Some(&staff.token), &video, &because("otra vez"))
        .await?;
    assert_eq!((again.status, again.code()), (409, "not_hidden"));

    // Back on both instances within the bound, with exactly its three votes.
    tokio::time::sleep_until(answered + BOUND).await;
    for client in [&one, &two] {
        let (videos, total) = listed(client).await?;
        assert!(videos.contains(&video) && total == 2, "{videos:?} {total}");
        let (players, total) = ranked(client).await?;
        assert_eq!(
            (players, total),
            (vec![(owner.id.clone(), 3), (rival.id.clone(), 1)], 2)
        );
        assert_eq!(client.get_public_video(&video).await?.ok()?.votes, 3);
    }
    assert!(
        one.get_video(Some(&owner.token), &video)
            .await?
            .ok()?
            .review
            .is_none()
    );
    let counted = vote(&two, &fans[5], &video).await?.ok()?;
    assert_eq!(counted.votes, 4);
    // The reporters cannot report it again; the queue is empty.
    let twice = one
        .report_video(Some(&fans[0].token), &video, &report("copyright", None))
        .await?;
    assert_eq!(twice.status, 409);
    let queue = one
        .staff_queue(Some(&staff.token), None, None, None)
        .await?;
    assert_eq!(queue.header("x-total-count"), Some("0"));

    let (in_table, from_log) = hidden_sets(&backends).await?;
    assert_eq!((in_table.len(), from_log), (0, in_table));
    Ok(())
}

#[tokio::test]
async fn unverified_reports_do_not_count_and_every_staff_decision_is_in_the_audit_log()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("REPORTS_TO_HIDE".into(), "2".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let owner = backends
        .verified_player(&client, "owner@example.com", "Ana", "Cali")
        .await?;
    let video = published_video(&backends, &client, &owner).await?;
    let other = published_video(&backends, &client, &owner).await?;
    // Unverified accounts may report, but however many they are, they hide nothing.
    for index in 0..4 {
        let reporter = client
            .player(&format!("nuevo{index}@example.com"), "Nuevo", "Cali")
            .await?;
        client
            .report_video(
                Some(&reporter.token),
                &video,
                &report("inappropriate", None),
            )
            .await?
            .ok()?;
    }
    let staff = staff_member(&backends, &client, "jurado@federacion.co").await?;
    let queued = client
        .staff_queue(Some(&staff.token), Some("open"), None, None)
        .await?
        .ok()?;
    assert_eq!(
        (
            queued.len(),
            queued[0].visibility,
            queued[0].open_reports,
            queued[0].counting_reports
        ),
        (1, types::VideoVisibility::Visible, 4, 0)
    );
    assert_eq!(client.get_public_video(&video).await?.status, 200);

    // Dismissed: out of the queue, still visible; a second dismissal has nothing to dismiss.
    let dismissed = client
        .staff_dismiss_reports(
            Some(&staff.token),
            &video,
            &because("Reportes sin fundamento."),
        )
        .await?
        .ok()?;
    assert_eq!(
        (dismissed.visibility, dismissed.reports_resolved),
        (types::VideoVisibility::Visible, 4)
    );
    let again = client
        .staff_dismiss_reports(Some(&staff.token), &video, &because("otra vez"))
        .await?;
    assert_eq!((again.status, again.code()), (409, "no_open_reports"));

    // Hidden by staff without reports: the owner reads the staff's reason.
    let hidden = client
        .staff_hide_video(
            Some(&staff.token),
            &other,
            &because("Derechos de autor de un tercero"),
        )
        .await?
        .ok()?;
    assert_eq!(hidden.visibility, types::VideoVisibility::Hidden);
    let twice = client
        .staff_hide_video(Some(&staff.token), &other, &because("otra vez"))
        .await?;
    assert_eq!((twice.status, twice.code()), (409, "already_hidden"));
    let seen = client.get_video(Some(&owner.token), &other).await?.ok()?;
    let review = seen.review.ok_or_else(|| anyhow::anyhow!("no review"))?;
    assert_eq!(
        (review.state, review.note.as_deref()),
        (
            types::ReviewState::Hidden,
            Some("Derechos de autor de un tercero")
        )
    );
    let missing = client
        .staff_hide_video(
            Some(&staff.token),
            "00000000-0000-0000-0000-000000000000",
            &because("x"),
        )
        .await?;
    assert_eq!(missing.status, 404);

    let (in_table, from_log) = hidden_sets(&backends).await?;
    assert_eq!(in_table, vec![other.clone()]);
    assert_eq!(from_log, in_table);
    let log = client
        .staff_audit_log(Some(&staff.token), None, None, None)
        .await?;
    let entries = log.ok()?;
    let actions: Vec<_> = entries.iter().map(|entry| entry.action).collect();
    assert_eq!(
        actions,
        vec![
            types::AuditAction::VideoHidden,
            types::AuditAction::ReportsDismissed,
            types::AuditAction::StaffAdded,
        ]
    );
    assert_eq!(entries[0].actor, "jurado@federacion.co");
    assert_eq!(entries[0].actor_id.as_deref(), Some(staff.id.as_str()));
    assert_eq!(entries[2].actor, "operator");

    // Nothing updates or deletes the log's rows, not even the schema's owner.
    let pool = &backends.database.pool;
    for statement in [
        "UPDATE staff_actions SET reason = 'nada'",
        "DELETE FROM staff_actions",
        "TRUNCATE staff_actions",
    ] {
        let refused = sqlx::query(statement).execute(pool).await;
        let error = refused
            .err()
            .ok_or_else(|| anyhow::anyhow!("{statement} went through"))?;
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_actions")
        .fetch_one(pool)
        .await?;
    assert_eq!(rows, 3);
    Ok(())
}

#[tokio::test]
async fn with_verification_off_every_account_counts() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("EMAIL_VERIFICATION".into(), "off".into());
    env.insert("REPORTS_TO_HIDE".into(), "2".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("owner@example.com", "Ana", "Cali").await?;
    let video = published_video(&backends, &client, &owner).await?;
    for index in 0..2 {
        let reporter = client
            .player(&format!("fan{index}@example.com"), "Fan", "Cali")
            .await?;
        client
            .report_video(
                Some(&reporter.token),
                &video,
                &report("not_the_player", None),
            )
            .await?
            .ok()?;
    }
    let hidden: bool =
        sqlx::query_scalar("SELECT hidden_at IS NOT NULL FROM videos WHERE id = $1::uuid")
            .bind(&video)
            .fetch_one(&backends.database.pool)
            .await?;
    assert!(hidden);
    Ok(())
}

#[tokio::test]
async fn signup_never_makes_staff_and_staff_endpoints_refuse_everyone_else() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    // A signup that asks for the role is an ordinary signup.
    let mut body = serde_json::to_value(end_to_end::signup_request(
        "pillo@example.com",
        "Pillo",
        "Cali",
    ))?;
    body["role"] = "staff".into();
    let created = client
        .raw(
            reqwest::Method::POST,
            "/api/auth/signup",
            None,
            Some(RawBody::Json(body)),
        )
        .await?;
    assert_eq!(created.status, 201);
    let role: String =
        sqlx::query_scalar("SELECT role FROM users WHERE email = 'pillo@example.com'")
            .fetch_one(&backends.database.pool)
            .await?;
    assert_eq!(role, "player");
    let player = client
        .login_as("pillo@example.com", end_to_end::PASSWORD)
        .await?;
    let me = client.me(Some(&player)).await?.ok()?;
    assert_eq!(me.role, types::AccountRole::Player);

    let video = "00000000-0000-0000-0000-000000000000";
    let refused = [
        client
            .staff_queue(Some(&player), None, None, None)
            .await?
            .status,
        client.staff_video(Some(&player), video).await?.status,
        client
            .staff_hide_video(Some(&player), video, &because("x"))
            .await?
            .status,
        client
            .staff_restore_video(Some(&player), video, &because("x"))
            .await?
            .status,
        client
            .staff_dismiss_reports(Some(&player), video, &because("x"))
            .await?
            .status,
        client
            .staff_audit_log(Some(&player), None, None, None)
            .await?
            .status,
    ];
    assert_eq!(refused, [403; 6]);
    let forbidden = client.staff_queue(Some(&player), None, None, None).await?;
    assert_eq!(forbidden.code(), "staff_only");
    let anonymous = client.staff_queue(None, None, None, None).await?;
    assert_eq!((anonymous.status, anonymous.code()), (401, "unauthorized"));

    // Staff from the operator's command; a removal closes the desk to the same token at once.
    let staff = staff_member(&backends, &client, "jurado@federacion.co").await?;
    assert_eq!(
        client
            .staff_queue(Some(&staff.token), None, None, None)
            .await?
            .status,
        200
    );
    let me = client.me(Some(&staff.token)).await?.ok()?;
    assert_eq!(me.role, types::AccountRole::Staff);
    let (ok, printed) = xtask_staff(&backends, &["remove", "jurado@federacion.co"]).await?;
    assert!(ok, "{printed}");
    let closed = client
        .staff_queue(Some(&staff.token), None, None, None)
        .await?;
    assert_eq!((closed.status, closed.code()), (403, "staff_only"));
    Ok(())
}

#[tokio::test]
async fn xtask_staff_adds_lists_and_removes_on_a_real_database() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let (ok, printed) = xtask_staff(&backends, &["add", "nadie@federacion.co"]).await?;
    assert!(
        !ok && printed.contains("no account has the e-mail nadie@federacion.co"),
        "{printed}"
    );
    let person = client
        .player("Marta@Federacion.co", "Marta", "Bogotá")
        .await?;

    let (ok, printed) = xtask_staff(
        &backends,
        &["add", "MARTA@federacion.co", "--reason", "Jurado"],
    )
    .await?;
    assert!(ok, "{printed}");
    assert!(
        printed.contains(&format!(
            "marta@federacion.co (id {}) is now staff",
            person.id
        )) && printed.contains("audit log entry"),
        "{printed}"
    );
    let (ok, printed) = xtask_staff(&backends, &["add", "marta@federacion.co"]).await?;
    assert!(
        ok && printed.contains("was already staff: nothing changed"),
        "{printed}"
    );
    let (ok, printed) = xtask_staff(&backends, &["list"]).await?;
    assert!(
        ok && printed.contains("1 staff account(s)")
            && printed.contains("marta@federacion.co (Marta Test"),
        "{printed}"
    );
    let (ok, printed) = xtask_staff(&backends, &["remove", "marta@federacion.co"]).await?;
    assert!(ok && printed.contains("is no longer staff"), "{printed}");
    let (ok, printed) = xtask_staff(&backends, &["list"]).await?;
    assert!(ok && printed.contains("0 staff account(s)"), "{printed}");

    let log: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, action, reason FROM staff_actions ORDER BY id")
            .fetch_all(&backends.database.pool)
            .await?;
    assert_eq!(
        log,
        vec![
            ("operator".into(), "staff_added".into(), "Jurado".into()),
            (
                "operator".into(),
                "staff_removed".into(),
                "removed by an operator".into()
            ),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn staff_release_or_void_held_votes_by_player_with_an_audit_trail() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The holding rules as shipped: new accounts from one network give a player two votes, and
    // the rest are held (`young_accounts_burst`).
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = backends
        .verified_player(&client, "owner@example.com", "Ana", "Cali")
        .await?;
    let video = published_video(&backends, &client, &owner).await?;
    let mut statuses = Vec::new();
    for index in 0..7 {
        let fan = backends
            .verified_player(&client, &format!("fan{index}@example.com"), "Fan", "Cali")
            .await?;
        statuses.push(vote(&client, &fan, &video).await?.ok()?.status);
    }
    use types::CastStatus::{Counted, Held};
    assert_eq!(statuses, [Counted, Counted, Held, Held, Held, Held, Held]);
    let refused = client
        .staff_held_votes(Some(&owner.token), None, None)
        .await?;
    assert_eq!((refused.status, refused.code()), (403, "staff_only"));

    let staff = staff_member(&backends, &client, "jurado@federacion.co").await?;
    let players = client
        .staff_held_votes(Some(&staff.token), None, None)
        .await?;
    assert_eq!(players.header("x-total-count"), Some("1"));
    let players = players.ok()?;
    assert_eq!(
        (
            players[0].player_id.as_str(),
            players[0].held_votes,
            players[0].held_by_rule.young_accounts_burst
        ),
        (owner.id.as_str(), 5, 5)
    );
    let held = client
        .staff_player_held_votes(Some(&staff.token), &owner.id)
        .await?
        .ok()?;
    assert_eq!(held.len(), 5);
    assert!(
        held.iter()
            .all(|vote| vote.rule == types::HoldRule::YoungAccountsBurst
                && vote.voter_verified
                && vote.video_id == video)
    );

    let released = client
        .staff_release_vote(
            Some(&staff.token),
            &video,
            &held[0].voter_id,
            &because("Hermano del jugador, verificado."),
        )
        .await?
        .ok()?;
    assert_eq!(released.voter_id, held[0].voter_id);
    let voided = client
        .staff_void_vote(
            Some(&staff.token),
            &video,
            &held[1].voter_id,
            &because("Cuenta creada por script."),
        )
        .await?
        .ok()?;
    assert!(voided.audit_id > released.audit_id);
    let again = client
        .staff_release_vote(
            Some(&staff.token),
            &video,
            &held[1].voter_id,
            &because("otra vez"),
        )
        .await?;
    assert_eq!((again.status, again.code()), (404, "vote_not_held"));

    // By rule: a rule that held none of them decides nothing; the rule that held the other three
    // releases them, each with its own audit entry.
    let by_rule = |rule: Option<types::HoldRule>, reason: &str| types::RuleDecisionRequest {
        reason: reason.to_owned(),
        rule,
    };
    let none = client
        .staff_void_votes_by_rule(
            Some(&staff.token),
            &owner.id,
            &by_rule(Some(types::HoldRule::NetworkShare), "red dominante"),
        )
        .await?
        .ok()?;
    assert_eq!((none.decided, none.remaining), (0, 0));
    let released_by_rule = client
        .staff_release_votes_by_rule(
            Some(&staff.token),
            &owner.id,
            &by_rule(
                Some(types::HoldRule::YoungAccountsBurst),
                "Peña del club, revisada.",
            ),
        )
        .await?
        .ok()?;
    assert_eq!(
        (released_by_rule.decided, released_by_rule.remaining),
        (3, 0)
    );
    let refused = client
        .staff_release_votes_by_rule(Some(&owner.token), &owner.id, &by_rule(None, "yo"))
        .await?;
    assert_eq!((refused.status, refused.code()), (403, "staff_only"));

    let mine = client.get_video(Some(&owner.token), &video).await?.ok()?;
    assert_eq!((mine.votes, mine.held_votes), (6, 0));
    tokio::time::sleep(BOUND).await;
    let (players, _) = ranked(&client).await?;
    assert_eq!(players, vec![(owner.id.clone(), 6)]);
    let log = client
        .staff_audit_log(Some(&staff.token), Some(&video), None, None)
        .await?
        .ok()?;
    let actions: Vec<_> = log
        .iter()
        .map(|entry| (entry.action, entry.reason.as_str()))
        .collect();
    let by_rule_entry = (types::AuditAction::VoteReleased, "Peña del club, revisada.");
    assert_eq!(
        actions,
        vec![
            by_rule_entry,
            by_rule_entry,
            by_rule_entry,
            (types::AuditAction::VoteVoided, "Cuenta creada por script."),
            (
                types::AuditAction::VoteReleased,
                "Hermano del jugador, verificado."
            ),
        ]
    );
    Ok(())
}
