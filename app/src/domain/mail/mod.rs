//! Mail: what Latchkey sends people, queued in the transaction of the event that causes it and delivered
//! by a background sender that survives restarts and shares the work between instances.
//!
//! - [`messages`]: every message, as data.
//! - [`links`]: the single-use links messages carry, drawn as they are sent.
//! - [`render`]: a message as a subject with plain-text and HTML parts, in the provider's brand.
//! - [`outbox`]: queueing, claiming and recording the outcome.
//! - [`transport`]: SMTP, or the outbox directory when no SMTP server is configured.
//! - [`sender`]: one round of delivery.

pub mod links;
pub mod messages;
pub mod outbox;
pub mod render;
pub mod sender;
pub mod transport;

pub use messages::Mail;
pub use outbox::{QueueError, queue, queue_once};
