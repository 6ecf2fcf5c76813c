"""Rewards: members claim and cancel; staff redeem, exactly once."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD, KEY
from loyalty.domain.errors import (
    AlreadyRedeemed,
    ConcurrentUpdate,
    Forbidden,
    InsufficientBalance,
    InvalidMemberToken,
    NotFound,
    RewardExpired,
    RewardNotActive,
    TooManyOpenRewards,
    Unauthorized,
    ValidationFailed,
)
from loyalty.replies.rewards import Redemption, RewardOnCard
from loyalty.requests.rewards import Claim, Redeem
from loyalty.services import rewards

router = Router()


@router.post("/v1/me/rewards", tags=["rewards"], status_code=201, security=CARD, operation_id="claimReward",
             responses=responses(Unauthorized, Forbidden, InvalidMemberToken, NotFound, TooManyOpenRewards,
                                 InsufficientBalance, ConcurrentUpdate, replies={201: RewardOnCard}))
def claim_reward(body: Claim):
    who = http.caller(router)
    return http.exactly_once_in_transaction(router, 201, lambda once: rewards.claim(who, body.reward_id, once))


@router.delete("/v1/me/rewards/<issuedRewardId>", tags=["rewards"], security=CARD, operation_id="cancelReward",
               responses=responses(Unauthorized, Forbidden, InvalidMemberToken, NotFound, AlreadyRedeemed,
                                   RewardExpired, RewardNotActive, ConcurrentUpdate))
def cancel_reward(issuedRewardId: str) -> RewardOnCard:
    return rewards.cancel(http.caller(router), issuedRewardId)


@router.post("/v1/redemptions", tags=["rewards"], security=KEY, operation_id="redeemReward",
             responses=responses(Unauthorized, Forbidden, NotFound, InvalidMemberToken, ValidationFailed,
                                 InsufficientBalance, AlreadyRedeemed, RewardExpired, RewardNotActive,
                                 ConcurrentUpdate, replies={200: Redemption}))
def redeem(body: Redeem):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (200, rewards.redeem(who, body)))


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
