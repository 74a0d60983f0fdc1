//! One module per page.

mod activity;
mod home;
mod invitation;
mod key_detail;
mod key_new;
mod keys_list;
mod members;
mod not_found;
mod operator_organisations;
mod operator_usage;
pub(crate) mod organisation_new;
mod portal_link;
mod service_tokens;
mod settings;
mod sign_in;
mod sign_up;
mod usage;

pub use activity::ActivityPage;
pub use home::{HomePage, LegacyRedirect};
pub use invitation::InvitationPage;
pub use key_detail::KeyDetailPage;
pub use key_new::NewKeyPage;
pub use keys_list::KeysPage;
pub use members::MembersPage;
pub use not_found::NotFoundPage;
pub use operator_organisations::{OperatorActivityPage, OperatorOrganisationPage, OperatorOrganisationsPage};
pub use operator_usage::OperatorUsagePage;
pub use organisation_new::NewOrganisationPage;
pub use portal_link::PortalLinkUnusablePage;
pub use service_tokens::ServiceTokensPage;
pub use settings::SettingsPage;
pub use sign_in::SignInPage;
pub use sign_up::SignUpPage;
pub use usage::UsagePage;
