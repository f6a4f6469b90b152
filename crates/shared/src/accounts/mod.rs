//! Accounts: the one way an account comes to exist. API registration, the first admin of the
//! settings, `grandma user create` (and the web app's sign-up and first-run setup) all go
//! through [`Accounts`], so they accept and refuse the same addresses and passwords.
//!
//! ```ignore
//! let accounts = Accounts::new(store.clone());
//! let user = accounts
//!     .create(NewAccount { email: "ada@example.com", password: Secret::from("…"), role: Role::User })
//!     .await?;
//! ```

pub mod password;

use grandma_store::{Constraint, Email, NewUser, Role, Secret, Store, StoreError, User, UserPatch};

pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_password};

/// The longest display name, in characters.
pub const MAX_USERNAME_CHARS: usize = 100;

/// A display name as stored (trimmed), or the problem with it: 1 to 100 characters.
pub fn check_username(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        Err(format!("must have 1 to {MAX_USERNAME_CHARS} characters"))
    } else {
        Ok(name.to_owned())
    }
}

/// One problem with the account asked for, located by the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProblem {
    /// `email` or `password`.
    pub field: &'static str,
    pub message: String,
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The address or the password breaks the rules; every problem is listed.
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<AccountProblem>),
    /// Another account has this address (addresses compare case-insensitively).
    #[error("an account with the e-mail address {0} already exists")]
    EmailTaken(Email),
    #[error("hashing the password failed: {0}")]
    Hashing(String),
    /// Every core is hashing passwords already; try again after `retry_after_secs`.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy { retry_after_secs: u64 },
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// An account to create. The address is checked and normalised by [`Email::parse`]; the
/// password must pass [`check_password`].
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password: Secret,
    pub role: Role,
}

/// What [`Accounts::ensure_first_admin`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum FirstAdmin {
    /// An active admin exists already: nothing was changed.
    Exists,
    /// A new admin account.
    Created(User),
    /// An existing account with that address became an active admin with that password.
    Promoted(User),
}

/// The account service over a store.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
}

impl Accounts {
    pub fn new(store: Store) -> Self {
        Accounts { store }
    }

    /// The address as stored, or every problem with the address and the password.
    pub fn check(email: &str, password: &str) -> Result<Email, AccountError> {
        let mut problems = Vec::new();
        let email = Email::parse(email)
            .map_err(|e| {
                problems.push(AccountProblem {
                    field: "email",
                    message: e.to_string(),
                })
            })
            .ok();
        if let Err(message) = check_password(password) {
            problems.push(AccountProblem {
                field: "password",
                message,
            });
        }
        match email {
            Some(email) if problems.is_empty() => Ok(email),
            _ => Err(AccountError::Invalid(problems)),
        }
    }

    /// Checks, hashes the password (Argon2id) and creates an active account.
    pub async fn create(&self, account: NewAccount<'_>) -> Result<User, AccountError> {
        let email = Self::check(account.email, account.password.expose())?;
        let password_hash = password::hash(account.password).await?;
        let new = NewUser {
            email,
            password_hash,
            role: account.role,
            is_active: true,
        };
        match self.store.create_user(&new).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict {
                constraint: Constraint::UserEmail,
            }) => Err(AccountError::EmailTaken(new.email)),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes `email` an active admin with `password` when there is no active admin yet (a
    /// fresh install, or one whose admins were all deactivated): an existing account with
    /// that address is promoted rather than duplicated.
    pub async fn ensure_first_admin(
        &self,
        email: &str,
        password: Secret,
    ) -> Result<FirstAdmin, AccountError> {
        let checked = Self::check(email, password.expose())?;
        if self.store.count_admins().await? > 0 {
            return Ok(FirstAdmin::Exists);
        }
        match self.store.get_user_by_email(checked.as_str()).await {
            Ok(user) => {
                let patch = UserPatch {
                    role: Some(Role::Admin),
                    is_active: Some(true),
                    password_hash: Some(password::hash(password).await?),
                    ..Default::default()
                };
                let user = self.store.update_user(user.user_id, &patch).await?;
                Ok(FirstAdmin::Promoted(user))
            }
            Err(StoreError::NotFound) => {
                let account = NewAccount {
                    email,
                    password,
                    role: Role::Admin,
                };
                self.create(account).await.map(FirstAdmin::Created)
            }
            Err(e) => Err(e.into()),
        }
    }
}
