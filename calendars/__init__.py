"""Business time, iCal feeds, invitations and imports: pure library, no Flask, no database."""
