/// A user's role at a restaurant. The owner is the user who created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Manager,
    Kitchen,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "manager" => Some(Role::Manager),
            "kitchen" => Some(Role::Kitchen),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Kitchen => "kitchen",
        }
    }
}

/// The roles a staff row can hold (ownership is not a staff row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    Manager,
    Kitchen,
}

impl StaffRole {
    pub fn parse(text: &str) -> Option<StaffRole> {
        match text {
            "manager" => Some(StaffRole::Manager),
            "kitchen" => Some(StaffRole::Kitchen),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Manager => "manager",
            StaffRole::Kitchen => "kitchen",
        }
    }
}

/// Who may use a group of routes.
pub trait RoleRequirement: Send + Sync + 'static {
    const ALLOWED: &'static [Role];
    /// Completes "Only … may do this." in the 403 message.
    const WHO: &'static str;
}

/// Owner and managers: staff and menu management.
pub struct Managers;
impl RoleRequirement for Managers {
    const ALLOWED: &'static [Role] = &[Role::Owner, Role::Manager];
    const WHO: &'static str = "the owner or a manager of this restaurant";
}

/// Anyone working at the restaurant: the kitchen routes.
pub struct Staff;
impl RoleRequirement for Staff {
    const ALLOWED: &'static [Role] = &[Role::Owner, Role::Manager, Role::Kitchen];
    const WHO: &'static str = "staff of this restaurant";
}
