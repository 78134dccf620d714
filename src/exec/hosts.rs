//! [`HostPool`]: the run's connections to the hosts its manifest instances run on.
//!
//! One [`ssh::Connection`] per host for the whole run, made when the first instance on
//! that host runs (its master starts then, before the handler's first call, so a host that
//! cannot be reached fails fast, like Ansible's fact gathering) and shared by every call on
//! it; [`HostPool::close`] ends every master when the run ends. Ctrl-C reaches them through
//! [`ssh::interrupt_all`]. The settings (`--per-host`, the `ssh` program) are the run's;
//! the connection parameters are the inventory host's, as the instance carries them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::manifest::InstanceHost;
use crate::target::ssh::{self, HostParams};
use crate::target::{RemoteHost, TransportError};

/// The connections of one run, by host name.
#[derive(Debug)]
pub struct HostPool {
    settings: ssh::Settings,
    hosts: Mutex<HashMap<String, Arc<RemoteHost>>>,
}

impl HostPool {
    /// An empty pool; nothing connects until an instance runs.
    pub fn new(settings: ssh::Settings) -> HostPool {
        HostPool {
            settings,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The connection to `host`, made on first use, with its master started: an
    /// unreachable host is [`TransportError::Unreachable`].
    pub fn connect(&self, host: &InstanceHost) -> Result<Arc<RemoteHost>, TransportError> {
        let remote = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            match hosts.get(&host.name) {
                Some(r) => Arc::clone(r),
                None => {
                    let connection = ssh::Connection::new(params(host), self.settings.clone())?;
                    let r = Arc::new(RemoteHost {
                        name: host.name.clone(),
                        connection: Arc::new(connection),
                        r#become: host.r#become,
                        become_user: host.become_user.clone(),
                        fs_root: host.fs_root.clone(),
                    });
                    hosts.insert(host.name.clone(), Arc::clone(&r));
                    r
                }
            }
        };
        // Outside the pool's lock: a slow host does not hold up the others.
        remote.connection.open()?;
        Ok(remote)
    }

    /// Closes every master (`-O exit`), at the end of the run.
    pub fn close(&self) {
        let hosts: Vec<Arc<RemoteHost>> = self
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for h in hosts {
            h.connection.close();
        }
    }
}

/// How `ssh` reaches an instance's host (also `ordo hosts --check`'s, through
/// [`inventory::instance_host`](crate::inventory::instance_host)).
pub fn params(host: &InstanceHost) -> HostParams {
    HostParams {
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
        identity_file: host.identity_file.as_ref().map(PathBuf::from),
        ssh_options: host.ssh_options.clone(),
    }
}
