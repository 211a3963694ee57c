from __future__ import annotations

from ninja import Schema


class NeighbourhoodRef(Schema):
    id: int
    name: str
    city: str

    @staticmethod
    def of(neighbourhood) -> "NeighbourhoodRef":
        return NeighbourhoodRef(id=neighbourhood.id, name=neighbourhood.name, city=neighbourhood.city.name)
