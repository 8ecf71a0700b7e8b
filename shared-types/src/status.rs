use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// An order's place in the kitchen: `confirmed → preparing → ready → completed`, or `cancelled`
/// from any of the first three. This table is the single source of truth for allowed moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Confirmed,
    Preparing,
    Ready,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Confirmed,
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    /// The statuses an order may move to from this one.
    pub fn allowed_next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Confirmed => &[Preparing, Cancelled],
            Preparing => &[Ready, Cancelled],
            Ready => &[Completed, Cancelled],
            Completed | Cancelled => &[],
        }
    }

    pub fn is_final(self) -> bool {
        self.allowed_next().is_empty()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Preparing => "preparing",
            OrderStatus::Ready => "ready",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Checks a move against the table; the error names the moves that are allowed.
    pub fn check_move(self, to: OrderStatus) -> Result<(), TransitionError> {
        if self.allowed_next().contains(&to) {
            Ok(())
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus;

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed = self.from.allowed_next();
        if allowed.is_empty() {
            write!(
                f,
                "Cannot move an order from '{}' to '{}': '{}' is final.",
                self.from, self.to, self.from
            )
        } else {
            let names: Vec<String> = allowed.iter().map(|s| format!("'{s}'")).collect();
            write!(
                f,
                "Cannot move an order from '{}' to '{}'; allowed: {}.",
                self.from,
                self.to,
                names.join(", ")
            )
        }
    }
}

impl std::error::Error for TransitionError {}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn happy_path_and_cancellation() {
        assert!(Confirmed.check_move(Preparing).is_ok());
        assert!(Preparing.check_move(Ready).is_ok());
        assert!(Ready.check_move(Completed).is_ok());
        for from in [Confirmed, Preparing, Ready] {
            assert!(from.check_move(Cancelled).is_ok());
        }
    }

    #[test]
    fn every_other_move_is_refused() {
        let allowed = [
            (Confirmed, Preparing),
            (Confirmed, Cancelled),
            (Preparing, Ready),
            (Preparing, Cancelled),
            (Ready, Completed),
            (Ready, Cancelled),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.check_move(to).is_ok(),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn error_names_allowed_moves() {
        let err = Confirmed.check_move(Completed).unwrap_err().to_string();
        assert!(
            err.contains("'preparing'") && err.contains("'cancelled'"),
            "{err}"
        );
        let err = Completed.check_move(Ready).unwrap_err().to_string();
        assert!(err.contains("final"), "{err}");
    }

    #[test]
    fn round_trips_names() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("done".parse::<OrderStatus>().is_err());
    }
}
