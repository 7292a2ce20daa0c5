//! Voting rounds (issue #19): a round opens, votes flow through two API instances, it closes on
//! time and later votes are refused on both at once; its standings freeze with ties shown as ties
//! and later decisions never change them; staff export the finalists. And the staff side: early
//! close, cancel, overlaps, refusals, the audit log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use end_to_end::{Client, Player, RunningApi, types};
use tokio::time::Instant;

use crate::jury::{because, staff_member};
use crate::public::{published_video, vote};
use crate::{local_backends, without_holding_rules};

/// A round closed this long ago has frozen standings on every instance (the freeze waits a
/// second after the close, then runs within the next second's pass).
const FREEZE_BOUND: Duration = Duration::from_secs(10);

fn round(
    name: &str,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    cities: Option<&[&str]>,
    finalists_per_city: u64,
) -> types::NewRoundRequest {
    types::NewRoundRequest {
        name: name.to_owned(),
        opens_at: opens_at.to_rfc3339(),
        closes_at: closes_at.to_rfc3339(),
        cities: cities.map(|cities| cities.iter().map(|city| (*city).to_owned()).collect()),
        finalists_per_city,
    }
}

fn seconds(seconds: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(seconds)
}

/// Waits until `until` (a wall-clock time), and a little more.
async fn wait_until(until: DateTime<Utc>) {
    let left = (until - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
}

/// The round's standings, once final (polls within [`FREEZE_BOUND`]).
async fn final_standings(
    client: &Client,
    round_id: &str,
    city: Option<&str>,
) -> anyhow::Result<Vec<types::RoundStanding>> {
    let deadline = Instant::now() + FREEZE_BOUND;
    loop {
        let reply = client
            .round_standings(round_id, city, None, Some(100), None)
            .await?;
        match reply.status {
            200 => return reply.ok(),
            409 if Instant::now() < deadline => {
                assert_eq!(reply.code(), "round_not_final");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => anyhow::bail!("standings of {round_id}: {reply:?}"),
        }
    }
}

/// (position, username, votes, tied, finalist) of each row.
fn rows(standings: &[types::RoundStanding]) -> Vec<(i64, &str, i64, bool, bool)> {
    standings
        .iter()
        .map(|row| {
            (
                row.position,
                row.username.as_str(),
                row.votes,
                row.tied,
                row.finalist,
            )
        })
        .collect()
}

/// `count` verified voters named `prefix0…`.
async fn voters(
    backends: &crate::LocalBackends,
    client: &Client,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Player>> {
    let mut voters = Vec::with_capacity(count);
    for index in 0..count {
        voters.push(
            backends
                .verified_player(
                    client,
                    &format!("{prefix}{index}@example.com"),
                    "Fan",
                    "Pasto",
                )
                .await?,
        );
    }
    Ok(voters)
}

#[tokio::test]
async fn a_round_opens_closes_on_time_on_two_instances_and_freezes_its_finalists_with_ties()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    without_holding_rules(&mut env);
    let first = RunningApi::start(&env).await?;
    let second = RunningApi::start(&env).await?;
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let staff = staff_member(&backends, &one, "jurado@example.com").await?;
    // Cali: Ana and Bea will tie at the top, Caro behind them, Dora without votes; Bogotá: Eva.
    let mut players = Vec::new();
    for (email, first_name, city) in [
        ("ana@example.com", "Ana", "Cali"),
        ("bea@example.com", "Bea", "Cali"),
        ("caro@example.com", "Caro", "Cali"),
        ("dora@example.com", "Dora", "Cali"),
        ("eva@example.com", "Eva", "Bogotá"),
    ] {
        let player = backends
            .verified_player(&one, email, first_name, city)
            .await?;
        let video = published_video(&backends, &one, &player).await?;
        players.push((player, video));
    }
    let fans = voters(&backends, &one, "fan", 6).await?;
    // Before any round: voting is open, as the course's contract has it.
    vote(&one, &fans[0], &players[0].1).await?.ok()?;

    let opens_at = Utc::now() + seconds(3);
    let closes_at = opens_at + seconds(8);
    let created = one
        .staff_create_round(
            Some(&staff.token),
            &round(
                "Final regional",
                opens_at,
                closes_at,
                Some(&["cali", "Bogotá"]),
                2,
            ),
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let created = created.ok()?;
    assert_eq!(created.status, types::RoundStatus::Scheduled);
    let round_id = created.round_id.clone();

    // Scheduled: votes are refused on both instances, saying when voting opens.
    for client in [&one, &two] {
        let early = vote(client, &fans[1], &players[0].1).await?;
        assert_eq!((early.status, early.code()), (403, "voting_closed"));
        let opens = early.body["next_round_opens_at"]
            .as_str()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok());
        assert_eq!(
            opens.map(|at| at.timestamp_millis()),
            Some(opens_at.timestamp_millis())
        );
    }

    wait_until(opens_at).await;
    let listed = two.rounds(None, None).await?.ok()?;
    assert_eq!(
        listed
            .iter()
            .map(|round| (round.round_id.as_str(), round.status))
            .collect::<Vec<_>>(),
        [(round_id.as_str(), types::RoundStatus::Open)]
    );
    // Votes flow through both instances: Ana 3 (one from before), Bea 3, Caro 1, Eva 2.
    let ballots = [
        (&one, 1, 0),
        (&two, 2, 0),
        (&one, 0, 1),
        (&two, 1, 1),
        (&one, 2, 1),
        (&two, 3, 2),
        (&one, 4, 4),
        (&two, 5, 4),
    ];
    for (client, fan, player) in ballots {
        let reply = vote(client, &fans[fan], &players[player].1).await?;
        assert_eq!(reply.status, 200, "{reply:?}");
    }

    wait_until(closes_at).await;
    // Closed on time: refused at once on both instances, no round to wait for.
    for client in [&two, &one] {
        let late = vote(client, &fans[5], &players[0].1).await?;
        assert_eq!(
            (late.status, late.code()),
            (403, "voting_closed"),
            "{late:?}"
        );
        assert!(late.body.get("next_round_opens_at").is_none());
    }

    let cali = final_standings(&two, &round_id, Some("CALI")).await?;
    assert_eq!(
        rows(&cali),
        [
            (1, "Ana Test", 3, true, true),
            (1, "Bea Test", 3, true, true),
            (3, "Caro Test", 1, false, false),
            (4, "Dora Test", 0, false, false),
        ]
    );
    let all = final_standings(&one, &round_id, None).await?;
    assert_eq!(all.len(), 5);
    assert_eq!(rows(&all[..1]), [(1, "Eva Test", 2, false, true)]);
    let finalists_only = one
        .round_standings(&round_id, None, Some(true), None, None)
        .await?;
    assert_eq!(finalists_only.header("x-total-count"), Some("3"));

    // Later decisions change the live ranking, never the frozen standings.
    one.staff_hide_video(
        Some(&staff.token),
        &players[0].1,
        &because("no es baloncesto"),
    )
    .await?
    .ok()?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ranked = two
        .rankings(Some("Cali"), None, None, None, None)
        .await?
        .ok()?;
    assert!(ranked.iter().all(|row| row.username != "Ana Test"));
    assert_eq!(final_standings(&two, &round_id, Some("Cali")).await?, cali);

    // Staff export the finalists: JSON with e-mails, and CSV.
    let exported = one
        .staff_round_finalists(Some(&staff.token), &round_id)
        .await?
        .ok()?;
    assert_eq!(
        exported
            .iter()
            .map(|row| (row.city.as_str(), row.position, row.email.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("Bogotá", 1, Some("eva@example.com")),
            ("Cali", 1, Some("ana@example.com")),
            ("Cali", 1, Some("bea@example.com")),
        ]
    );
    let csv = two
        .staff_round_finalists_csv(Some(&staff.token), &round_id)
        .await?;
    assert!(
        csv.header("content-disposition")
            .is_some_and(|value| value.contains(&format!("finalistas-{round_id}.csv")))
    );
    let csv = csv.ok()?;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "ciudad,posicion,empate,jugador,votos,correo,pais,id_jugador"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[2].starts_with("Cali,1,si,Ana Test,3,ana@example.com,Colombia,"));
    // Players and the public never see the e-mails.
    let refused = one
        .staff_round_finalists(Some(&fans[0].token), &round_id)
        .await?;
    assert_eq!((refused.status, refused.code()), (403, "staff_only"));

    // The frozen rows cannot be changed, by anyone.
    let changed = sqlx::query("UPDATE round_standings SET votes = votes + 100")
        .execute(&backends.database.pool)
        .await;
    assert!(changed.is_err(), "frozen standings were changed");
    Ok(())
}

#[tokio::test]
async fn staff_close_a_round_early_cancel_a_scheduled_one_and_every_step_is_in_the_audit_log()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    without_holding_rules(&mut env);
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let staff = staff_member(&backends, &client, "jurado@example.com").await?;
    let player = backends
        .verified_player(&client, "ana@example.com", "Ana", "Cali")
        .await?;
    let video = published_video(&backends, &client, &player).await?;
    let fans = voters(&backends, &client, "fan", 2).await?;
    let now = Utc::now();

    // Refusals change nothing.
    let not_staff = client
        .staff_create_round(
            Some(&fans[0].token),
            &round("Ronda", now, now + seconds(60), None, 3),
        )
        .await?;
    assert_eq!((not_staff.status, not_staff.code()), (403, "staff_only"));
    for (bad, field) in [
        (round("Ronda", now, now - seconds(1), None, 3), "closes_at"),
        (
            round("Ronda", now - seconds(60), now - seconds(30), None, 3),
            "closes_at",
        ),
        (
            round("Ronda", now, now + seconds(60), Some(&[]), 3),
            "cities",
        ),
        (
            round("Ronda", now, now + seconds(60), Some(&["Cali", "CALI"]), 3),
            "cities",
        ),
        (round("  ", now, now + seconds(60), None, 3), "name"),
    ] {
        let refused = client.staff_create_round(Some(&staff.token), &bad).await?;
        assert_eq!(
            (refused.status, refused.body["field"].as_str()),
            (400, Some(field)),
            "{refused:?}"
        );
    }
    assert_eq!(
        client.rounds(None, None).await?.header("x-total-count"),
        Some("0")
    );
    vote(&client, &fans[0], &video).await?.ok()?;

    // An open round for every city, and a later one for Cali.
    let open = client
        .staff_create_round(
            Some(&staff.token),
            &round("Primera", now, now + seconds(3600), None, 1),
        )
        .await?
        .ok()?;
    assert_eq!(open.status, types::RoundStatus::Open);
    let later_opens = now + seconds(7200);
    let later = client
        .staff_create_round(
            Some(&staff.token),
            &round(
                "Segunda",
                later_opens,
                later_opens + seconds(3600),
                Some(&["Cali"]),
                1,
            ),
        )
        .await?
        .ok()?;
    let overlapping = client
        .staff_create_round(
            Some(&staff.token),
            &round(
                "Solapada",
                later_opens + seconds(60),
                later_opens + seconds(120),
                Some(&["Medellín", "cali"]),
                1,
            ),
        )
        .await?;
    assert_eq!(
        (overlapping.status, overlapping.code()),
        (409, "round_overlaps")
    );
    let elsewhere = client
        .staff_create_round(
            Some(&staff.token),
            &round(
                "Otra ciudad",
                later_opens + seconds(60),
                later_opens + seconds(120),
                Some(&["Medellín"]),
                1,
            ),
        )
        .await?;
    assert_eq!(elsewhere.status, 201);

    // Closing early: refused for a scheduled round, done for the open one.
    let scheduled = client
        .staff_close_round(Some(&staff.token), &later.round_id, &because("ya"))
        .await?;
    assert_eq!(
        (scheduled.status, scheduled.code()),
        (409, "round_not_open")
    );
    let closed = client
        .staff_close_round(
            Some(&staff.token),
            &open.round_id,
            &because("fraude detectado"),
        )
        .await?
        .ok()?;
    assert_eq!(closed.round.status, types::RoundStatus::Closing);
    let refused = vote(&client, &fans[1], &video).await?;
    assert_eq!((refused.status, refused.code()), (403, "voting_closed"));
    let opens = refused.body["next_round_opens_at"]
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok());
    assert_eq!(
        opens.map(|at| at.timestamp()),
        Some(later_opens.timestamp())
    );
    let standings = final_standings(&client, &open.round_id, None).await?;
    assert_eq!(rows(&standings), [(1, "Ana Test", 1, false, true)]);
    let again = client
        .staff_close_round(Some(&staff.token), &open.round_id, &because("otra vez"))
        .await?;
    assert_eq!((again.status, again.code()), (409, "round_not_open"));

    // Cancelling: only before it opens, once.
    let cancelled = client
        .staff_cancel_round(
            Some(&staff.token),
            &later.round_id,
            &because("cambio de fechas"),
        )
        .await?
        .ok()?;
    assert_eq!(cancelled.round.status, types::RoundStatus::Cancelled);
    for round_id in [&later.round_id, &open.round_id] {
        let refused = client
            .staff_cancel_round(Some(&staff.token), round_id, &because("otra vez"))
            .await?;
        assert_eq!(
            (refused.status, refused.code()),
            (409, "round_already_opened")
        );
    }
    // The public never sees a cancelled round; staff do.
    let public: Vec<String> = client
        .rounds(None, None)
        .await?
        .ok()?
        .into_iter()
        .map(|round| round.name)
        .collect();
    assert_eq!(public, ["Otra ciudad", "Primera"]);
    let staff_view = client.staff_rounds(Some(&staff.token), None, None).await?;
    assert_eq!(staff_view.header("x-total-count"), Some("3"));
    let gone = client
        .round_standings(&later.round_id, None, None, None, None)
        .await?;
    assert_eq!((gone.status, gone.code()), (404, "round_not_found"));

    // Every step is in the audit log, by whom and why.
    let log = client
        .staff_audit_log(Some(&staff.token), None, Some(100), None)
        .await?
        .ok()?;
    use types::AuditAction::{RoundCancelled, RoundClosedEarly, RoundCreated, RoundFrozen};
    let rounds_log: Vec<(types::AuditAction, &str, &str)> = log
        .iter()
        .filter(|entry| {
            [RoundCreated, RoundClosedEarly, RoundCancelled, RoundFrozen].contains(&entry.action)
        })
        .map(|entry| (entry.action, entry.actor.as_str(), entry.reason.as_str()))
        .rev()
        .collect();
    let staff = "jurado@example.com";
    assert_eq!(
        rounds_log,
        [
            (RoundCreated, staff, "Primera"),
            (RoundCreated, staff, "Segunda"),
            (RoundCreated, staff, "Otra ciudad"),
            (RoundClosedEarly, staff, "fraude detectado"),
            (RoundFrozen, "schedule", "Primera"),
            (RoundCancelled, staff, "cambio de fechas"),
        ]
    );
    Ok(())
}
