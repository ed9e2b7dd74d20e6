//! How an item's final label was (or is to be) decided.
//!
//! The engines (`majority`, `wawa`, `dawid_skene`, `bayesian_dawid_skene`, `one_coin`, `glad`
//! and `auto`) are what a task resolves with and what a re-resolution may be asked to run;
//! `unanimous`, `gold`, `adjudicated` and `direct` are only ever recorded on a resolution, and so is never
//! `auto`: a resolution records the method `auto` chose. The serde names are the strings stored in `resolutions.method` and
//! `tasks.resolution_method`, and seen in the API.

use serde::{Deserialize, Serialize};

use crate::domain::aggregate::Method;

/// A resolution method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionMethod {
    /// Every label agreed.
    Unanimous,
    /// The leading answer's share reached the task's agreement threshold.
    #[serde(alias = "mv")]
    Majority,
    /// Worker Agreement With Aggregate (agreement-weighted vote).
    Wawa,
    /// Dawid-Skene: EM over per-rater confusion matrices.
    #[serde(alias = "ds")]
    DawidSkene,
    /// GLAD: rater ability × item difficulty.
    Glad,
    /// Bayesian Dawid-Skene: confusion matrices shrunk towards the pool by a fitted prior.
    #[serde(alias = "bds")]
    BayesianDawidSkene,
    /// One-coin Dawid-Skene: one accuracy per rater, shrunk towards the pool's.
    OneCoin,
    /// Chosen by evidence among the others (cross-validated gold accuracy, or held-out
    /// likelihood of the raters' answers).
    Auto,
    /// A gold item's known answer.
    Gold,
    /// A reviewer's decision.
    Adjudicated,
    /// A direct label observed in production, on a task where direct labels stand alone.
    Direct,
}

impl ResolutionMethod {
    /// The methods a task can resolve with, in the order forms show them.
    pub const ENGINES: [ResolutionMethod; 7] = [
        ResolutionMethod::Auto,
        ResolutionMethod::Majority,
        ResolutionMethod::Wawa,
        ResolutionMethod::DawidSkene,
        ResolutionMethod::BayesianDawidSkene,
        ResolutionMethod::OneCoin,
        ResolutionMethod::Glad,
    ];

    /// Every method, engines first.
    pub const ALL: [ResolutionMethod; 11] = [
        ResolutionMethod::Auto,
        ResolutionMethod::Majority,
        ResolutionMethod::Wawa,
        ResolutionMethod::DawidSkene,
        ResolutionMethod::BayesianDawidSkene,
        ResolutionMethod::OneCoin,
        ResolutionMethod::Glad,
        ResolutionMethod::Unanimous,
        ResolutionMethod::Gold,
        ResolutionMethod::Adjudicated,
        ResolutionMethod::Direct,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionMethod::Unanimous => "unanimous",
            ResolutionMethod::Majority => "majority",
            ResolutionMethod::Wawa => "wawa",
            ResolutionMethod::DawidSkene => "dawid_skene",
            ResolutionMethod::Glad => "glad",
            ResolutionMethod::BayesianDawidSkene => "bayesian_dawid_skene",
            ResolutionMethod::OneCoin => "one_coin",
            ResolutionMethod::Auto => "auto",
            ResolutionMethod::Gold => "gold",
            ResolutionMethod::Adjudicated => "adjudicated",
            ResolutionMethod::Direct => "direct",
        }
    }

    /// Parses a stored name, or the short names `mv`, `ds` and `bds` the command line also knows.
    pub fn parse(s: &str) -> Option<ResolutionMethod> {
        match s {
            "mv" => Some(ResolutionMethod::Majority),
            "ds" => Some(ResolutionMethod::DawidSkene),
            "bds" => Some(ResolutionMethod::BayesianDawidSkene),
            _ => ResolutionMethod::ALL.into_iter().find(|m| m.as_str() == s),
        }
    }

    /// The aggregation engine behind an engine method; `None` for the recorded-only ones.
    pub fn engine(self) -> Option<Method> {
        match self {
            ResolutionMethod::Majority => Some(Method::Majority),
            ResolutionMethod::Wawa => Some(Method::Wawa),
            ResolutionMethod::DawidSkene => Some(Method::DawidSkene),
            ResolutionMethod::Glad => Some(Method::Glad),
            ResolutionMethod::BayesianDawidSkene => Some(Method::BayesianDawidSkene),
            ResolutionMethod::OneCoin => Some(Method::OneCoin),
            ResolutionMethod::Auto => Some(Method::Auto),
            ResolutionMethod::Unanimous
            | ResolutionMethod::Gold
            | ResolutionMethod::Adjudicated
            | ResolutionMethod::Direct => None,
        }
    }
}

impl From<Method> for ResolutionMethod {
    /// The method an engine run is recorded as.
    fn from(m: Method) -> Self {
        match m {
            Method::Majority => ResolutionMethod::Majority,
            Method::Wawa => ResolutionMethod::Wawa,
            Method::DawidSkene => ResolutionMethod::DawidSkene,
            Method::Glad => ResolutionMethod::Glad,
            Method::BayesianDawidSkene => ResolutionMethod::BayesianDawidSkene,
            Method::OneCoin => ResolutionMethod::OneCoin,
            Method::Auto => ResolutionMethod::Auto,
        }
    }
}

impl std::fmt::Display for ResolutionMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for m in ResolutionMethod::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<ResolutionMethod>(&json).unwrap(), m);
            assert_eq!(ResolutionMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(
            ResolutionMethod::parse("ds"),
            Some(ResolutionMethod::DawidSkene)
        );
        assert_eq!(
            ResolutionMethod::parse("mv"),
            Some(ResolutionMethod::Majority)
        );
        assert_eq!(ResolutionMethod::parse("Majority"), None);
        assert_eq!(ResolutionMethod::parse(""), None);
    }

    #[test]
    fn only_engines_have_an_engine() {
        for m in ResolutionMethod::ALL {
            assert_eq!(m.engine().is_some(), ResolutionMethod::ENGINES.contains(&m));
        }
        let names: Vec<&str> = ResolutionMethod::ENGINES
            .iter()
            .map(|m| m.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "auto",
                "majority",
                "wawa",
                "dawid_skene",
                "bayesian_dawid_skene",
                "one_coin",
                "glad"
            ]
        );
        // The engine's own names are the stored ones.
        for m in ResolutionMethod::ENGINES {
            let e = m.engine().unwrap();
            assert_eq!(e.as_str(), m.as_str());
            assert_eq!(ResolutionMethod::from(e), m);
        }
    }
}
