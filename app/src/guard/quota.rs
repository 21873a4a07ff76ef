/// What one browser may keep in its gallery before its uploads are refused: storage is paid for
/// by the deployment, and an upload costs nothing else that would stop a runaway client.
#[derive(Debug, Clone, Copy)]
pub struct UploadQuota {
    /// `None`: no quota.
    bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("over the upload quota of {megabytes} MB")]
pub struct OverQuota {
    pub megabytes: u64,
}

impl UploadQuota {
    pub fn new(bytes: Option<u64>) -> Self {
        Self { bytes }
    }

    /// Whether `adding` bytes more may be kept beside the `kept` ones.
    pub fn check(&self, kept: u64, adding: u64) -> Result<(), OverQuota> {
        match self.bytes {
            Some(quota) if kept.saturating_add(adding) > quota => Err(OverQuota {
                megabytes: quota / (1024 * 1024),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_past_the_quota_is_refused_and_one_within_it_is_not() {
        let quota = UploadQuota::new(Some(2 * 1024 * 1024));
        assert!(quota.check(1024 * 1024, 1024 * 1024).is_ok());
        assert_eq!(
            quota.check(1024 * 1024, 1024 * 1024 + 1),
            Err(OverQuota { megabytes: 2 })
        );
        assert!(UploadQuota::new(None).check(u64::MAX, 1).is_ok());
    }
}
