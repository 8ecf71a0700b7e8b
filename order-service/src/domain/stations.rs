//! A restaurant's stations (grill, cold, bar, …) and where a menu entry is made.

use super::text::Name;

pub const STATION_NAME_MAX: usize = 50;

/// A station's name: not blank, at most 50 characters. Unique per restaurant whatever its
/// case; the database's unique index on `lower(name)` decides that.
pub type StationName = Name<STATION_NAME_MAX>;

/// Where a category or an item is made: at a station of its restaurant (by id), or at none.
/// That the id is one of the restaurant's own stations is the database's to check (a foreign
/// key on station and restaurant), so it holds even against a station deleted meanwhile.
pub type Routing = Option<i64>;

/// The fields of a PATCH that may be set, cleared with `null`, or left out: `None` keeps the
/// value, `Some(None)` clears it.
pub type Change<T> = Option<Option<T>>;
