"""Alpine IQ and Springbig kept in step with the register: members, points balances and audiences, both ways."""
