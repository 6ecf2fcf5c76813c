"""Bywalec: the core of an open loyalty backend (stamp cards, points, rewards, referrals)."""
