//! Building blocks shared by the pages.

pub mod form;
pub mod guard;
pub mod icons;
pub mod keys;
