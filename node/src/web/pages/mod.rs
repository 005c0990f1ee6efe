//! The web app's pages, one module per part: sign-in ([`auth`]), home ([`home`]), and
//! the employee's receipts and claims.

use axum::Router;

use super::WebState;

pub mod approver;
pub mod auth;
pub mod home;
pub mod operator;
pub mod roles;
pub mod ssc;

pub use roles::menu as role_menu;

/// Adds the pages' routes to `router`.
pub fn routes(router: Router<WebState>) -> Router<WebState> {
    router
}
