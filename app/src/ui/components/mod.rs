//! Building blocks shared by the pages.

pub mod chart;
pub mod form;
pub mod guard;
pub mod icons;
pub mod keys;
pub mod org;
pub mod text;
pub mod usage;
