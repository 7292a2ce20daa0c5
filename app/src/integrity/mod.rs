//! What keeps a vote one person's: rate counters per network and per account, and the
//! proof-of-work step-up past a network's normal rate. The holding rules that keep suspicious
//! votes out of the ranking live with the votes (`platform::videos::votes`).
//!
//! Every per-client limit is keyed by network (`crate::http::client`): an IPv6 /64, an IPv4
//! address, and for signups also the IPv4 /24 around it. A network's limit never locks a crowd
//! out: past it each request carries a proof of work, harder the further past. Only an account's
//! own pace (votes a minute) is a hard limit, and only at a speed no person votes at.

pub mod counters;
pub mod network;
pub mod proof;
pub mod synced;

use std::time::Duration;

use counters::{Count, RateCounters, Windows};
use proof::{ProofChallenge, ProofOfWork};
use synced::SyncedCounters;
use uuid::Uuid;

use crate::config::{AuthSettings, VoteSettings};
use network::Network;

/// What a request past a limit is told.
#[derive(Debug)]
pub enum Admission {
    /// Go on.
    Admitted,
    /// Refused: wait `wait`, or (when `challenge` is given) solve it and send the solution in
    /// the `Altcha` header.
    Refused {
        wait: Duration,
        challenge: Option<Box<ProofChallenge>>,
    },
}

#[derive(Debug, Clone)]
pub struct Integrity {
    pub counters: RateCounters,
    /// The vote's pace and its network's hour, decided in memory and shared every second.
    pub vote_counters: SyncedCounters,
    pub proofs: ProofOfWork,
    signups_per_network: u32,
    signups_per_ipv4_24: u32,
    signup_window: Duration,
    votes: VoteSettings,
}

/// A network's votes past its hour's limit double the difficulty every this many times the limit:
/// slower than signups (every limit's worth), because a crowd behind one address votes far more
/// often than it signs up, and each vote is one person's.
const VOTE_STEPS: u32 = 4;

/// An account's votes of the minute.
fn account_vote_key(account: Uuid) -> String {
    format!("vote:{account}")
}

/// A network's votes of the hour.
fn network_votes_key(network: &Network) -> String {
    format!("votes:{}", network.key)
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// What a vote's admission decided.
#[derive(Debug)]
pub enum VoteAdmission {
    /// Counted on the account's pace and its network's hour: cast it.
    Admitted,
    /// The account is past its pace (a hard limit): wait `wait`.
    TooFast { wait: Duration },
    /// The network is past its hour: wait `wait`, or solve `challenge` and send the solution in
    /// the `Altcha` header.
    Refused {
        wait: Duration,
        challenge: Option<Box<ProofChallenge>>,
    },
}

impl Integrity {
    pub fn new(
        counters: RateCounters,
        proofs: ProofOfWork,
        auth: &AuthSettings,
        votes: &VoteSettings,
    ) -> Self {
        Self {
            vote_counters: SyncedCounters::new(counters.clone()),
            counters,
            proofs,
            signups_per_network: auth.max_signups_per_client,
            signups_per_ipv4_24: auth.max_signups_per_ipv4_24,
            signup_window: auth.failure_window,
            votes: votes.clone(),
        }
    }

    /// The settings votes are held by.
    pub fn hold_rules(&self) -> &platform::videos::votes::HoldRules {
        &self.votes.hold_rules
    }

    /// Counts a signup from `network` (and its IPv4 /24), or asks for a proof of work once either
    /// is past its limit.
    pub async fn admit_signup(
        &self,
        network: &Network,
        proof: Option<&str>,
    ) -> Result<Admission, sqlx::Error> {
        let mut limits = vec![(
            network.signup_key(),
            self.signups_per_network,
            self.signups_per_network,
        )];
        if let Some(block) = network.ipv4_block_key() {
            limits.push((block, self.signups_per_ipv4_24, self.signups_per_ipv4_24));
        }
        self.admit_past_limits(&self.counters, &limits, self.signup_window, proof)
            .await
    }

    /// Takes back a counted signup that never reached the hash (the hashing queue was full).
    pub async fn give_back_signup(&self, network: &Network) -> Result<(), sqlx::Error> {
        self.counters.give_back(&network.signup_key()).await?;
        if let Some(block) = network.ipv4_block_key() {
            self.counters.give_back(&block).await?;
        }
        Ok(())
    }

    /// Admits a vote of `account` from `network`: counted on the account's pace (a hard limit)
    /// and on the network's hour; past the hour, only with a proof of work as hard as the
    /// network now asks. Nothing is counted for a vote refused. Both are decided in memory and
    /// shared between instances every second (`synced`): the vote's own statement
    /// (`platform::videos::votes::cast`) is its only round trip to the database.
    pub async fn admit_vote(
        &self,
        account: Uuid,
        network: &Network,
        proof: Option<&str>,
    ) -> Result<VoteAdmission, sqlx::Error> {
        let pace_key = account_vote_key(account);
        let pace = self.votes.max_per_account_per_minute;
        if let Count::Over { wait, .. } = self.vote_counters.count(&pace_key, pace, MINUTE).await? {
            return Ok(VoteAdmission::TooFast { wait });
        }
        // Past the network's hour, a proof of work, as any limit asks; a refused vote gives its
        // pace back.
        let hourly = self.votes.max_per_network_per_hour;
        let limits = [(
            network_votes_key(network),
            hourly,
            hourly.saturating_mul(VOTE_STEPS),
        )];
        match self
            .admit_past_limits(&self.vote_counters, &limits, HOUR, proof)
            .await?
        {
            Admission::Admitted => Ok(VoteAdmission::Admitted),
            Admission::Refused { wait, challenge } => {
                self.vote_counters.give_back(&pace_key).await?;
                Ok(VoteAdmission::Refused { wait, challenge })
            }
        }
    }

    /// Gives back the pace an admitted vote counted when it was not cast (already cast, the
    /// voter's own video, no such video): the pace counts votes cast. The network's hour keeps
    /// counting attempts.
    pub async fn give_back_vote(&self, account: Uuid) -> Result<(), sqlx::Error> {
        self.vote_counters
            .give_back(&account_vote_key(account))
            .await
    }

    /// Gives back both counts of a vote its account could not cast at all (not verified, or
    /// gone): such attempts use up neither the account's pace nor its network's hour.
    pub async fn give_back_refused_vote(
        &self,
        account: Uuid,
        network: &Network,
    ) -> Result<(), sqlx::Error> {
        self.give_back_vote(account).await?;
        self.vote_counters
            .give_back(&network_votes_key(network))
            .await
    }

    /// Counts a hit in `counters` on every key within its limit; a key past its limit is counted
    /// only with a proof of work as hard as the worst of them asks (one proof pays for all). Each
    /// limit comes with the hits past it that double the difficulty.
    async fn admit_past_limits(
        &self,
        counters: &impl Windows,
        limits: &[(String, u32, u32)],
        window: Duration,
        proof: Option<&str>,
    ) -> Result<Admission, sqlx::Error> {
        let mut over = Vec::new();
        let mut within = Vec::new();
        let mut difficulty = 0;
        let mut wait = Duration::ZERO;
        for (key, limit, step) in limits {
            match counters.count(key, *limit, window).await? {
                Count::Within => within.push(key),
                Count::Over { hits, wait: left } => {
                    difficulty = difficulty.max(proof::difficulty(hits, *limit, *step));
                    wait = wait.max(left);
                    over.push(key);
                }
            }
        }
        if over.is_empty() {
            return Ok(Admission::Admitted);
        }
        if let Some(proof) = proof
            && self.proofs.accept(proof, difficulty).await?.is_ok()
        {
            for key in over {
                counters.count_over(key, window).await?;
            }
            return Ok(Admission::Admitted);
        }
        // Refused: a request that does nothing uses up nothing.
        for key in within {
            counters.give_back(key).await?;
        }
        Ok(Admission::Refused {
            wait,
            challenge: self.proofs.challenge(difficulty),
        })
    }

    /// A challenge as hard as `network` now needs for `purpose` (the easiest when it needs none):
    /// what `GET /api/auth/challenge` hands out ahead of a request.
    pub async fn challenge_for(
        &self,
        network: &Network,
        purpose: Purpose,
    ) -> Result<Option<Box<ProofChallenge>>, sqlx::Error> {
        let (key, limit, step) = match purpose {
            Purpose::Signup => (
                network.signup_key(),
                self.signups_per_network,
                self.signups_per_network,
            ),
            Purpose::Vote => {
                let hourly = self.votes.max_per_network_per_hour;
                (
                    network_votes_key(network),
                    hourly,
                    hourly.saturating_mul(VOTE_STEPS),
                )
            }
        };
        let hits = match purpose {
            Purpose::Signup => self.counters.hits(&key).await?,
            Purpose::Vote => self.vote_counters.hits(&key, HOUR).await?,
        };
        Ok(self.proofs.challenge(proof::difficulty(hits, limit, step)))
    }
}

/// What a challenge is asked for ahead of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Signup,
    Vote,
}
