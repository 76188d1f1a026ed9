//! PLACEHOLDER — being written.
pub struct WorkingHours;
impl WorkingHours {
    pub fn parse(_periods: &[String], _utc_offset_minutes: i32) -> Result<Self, String> {
        Ok(WorkingHours)
    }
}
