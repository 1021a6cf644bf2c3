//! Outgoing webhooks: which URLs may be called ([`url_policy`]), how a delivery is signed
//! ([`signature`]), and the background deliverer that works through `webhook_deliveries`
//! ([`deliverer`]). The relay queues deliveries when it publishes a chat's events
//! (`repo::outbox::delete_published`), so an event is delivered only once it is
//! stored, and the queue survives restarts.

pub mod deliverer;
pub mod signature;
pub mod url_policy;
